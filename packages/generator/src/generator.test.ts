import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalValor } from './format.ts';
import { generateDay } from './index.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'recon-gen-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

describe('generateDay', () => {
  it('closes the accounting in expected.json and matches the files line by line', async () => {
    const dir = await tempDir();
    const progress: [number, number][] = [];
    const day = await generateDay(
      {
        rows: 10_000,
        tipo1Pct: 5,
        tipo2Pct: 3,
        tipo3Pct: 2,
        seed: 1,
        outDir: dir,
        invalidPct: 4,
        duplicatePct: 2,
        historyRows: 321,
      },
      (done, total) => progress.push([done, total]),
    );
    const dw = day.expected['date-window'];
    const all = day.expected.all;
    expect(dw.total_lines).toBe(10_000 + 400 + 200);
    expect(dw.valid_lines).toBe(10_000);
    expect(dw.invalid_lines).toBe(sum(dw.rejects));
    expect(dw.rejects).toEqual({
      FIELD_COUNT: 100,
      MISSING_ORDEM_ID: 100,
      INVALID_DATE: 100,
      INVALID_VALOR: 100,
      DUPLICATE_ORDEM_ID: 200,
    });
    expect(dw.divergences.TIPO_1).toBe(500);
    expect(dw.divergences.TIPO_2).toBe(300);
    expect(all.divergences.TIPO_2).toBe(621);
    // 200 TIPO_3 orders, 1 in 10 with two fields; round-robin over the five fields.
    const t3 = sum(dw.divergences) - 500 - 300;
    expect(t3).toBe(220);
    for (const t of [
      'TIPO_3_VALOR',
      'TIPO_3_DATA',
      'TIPO_3_NOME',
      'TIPO_3_ATIVO',
      'TIPO_3_FORNECEDOR',
    ] as const) {
      expect(dw.divergences[t]).toBeGreaterThanOrEqual(40);
    }
    expect(dw.matched).toBe(9_500);
    expect(dw.base_rows).toBe(9_500 + 300);
    expect(all.base_rows).toBe(9_500 + 621);
    expect(dw.divergent_orders).toBe(1_000);
    expect(dw.distinct_orders).toBe(10_300);
    expect(dw.divergence_rate).toBeCloseTo(1_000 / 10_300, 12);

    const vendor = await readFile(day.vendorPath, 'utf8');
    const vendorLines = vendor.split('\r\n').slice(1, -1);
    expect(vendorLines.filter((l) => l !== '')).toHaveLength(dw.total_lines);
    expect(vendorLines.filter((l) => l === '')).toHaveLength(1); // one blank line per 9973 records
    const base = await readFile(day.basePath, 'utf8');
    expect(base.split('\n').slice(1, -1)).toHaveLength(all.base_rows);

    // Variety the readers must cope with.
    expect(vendor).toMatch(/;"[^"\r\n]*; (Jr|Filho|Neto)";/);
    expect(vendor).toMatch(/;"[^"\r\n]* ""[^"\r\n]+"" [^"\r\n]*";/);
    expect(vendor).toMatch(/;\d{2}\/\d{2}\/\d{4};/);
    expect(vendor).toMatch(/;-?\d{1,3}(\.\d{3})+,\d{2}\r\n/);
    expect(vendor).toMatch(/;-?\d{1,3}(,\d{3})+\.\d{2}\r\n/);
    expect(vendor).toMatch(/;-?\d+[.,]\d{2}5\r\n/);
    expect(vendor).toMatch(/;-\d/);
    expect(vendor).toMatch(/\u0303/); // NFD combining tilde
    expect(vendor).toMatch(/;[ \t]+[^;\r\n]+;|;[^;\r\n]+[ \t]+;/);
    expect(base).not.toMatch(/\u0303/);

    const { window } = JSON.parse(await readFile(day.expectedPath, 'utf8'));
    expect(window).toEqual({ min: '2026-10-22', max: '2026-11-20' });

    expect(progress.length).toBeGreaterThan(1);
    const total = dw.total_lines + 10_000 + 400 + 300 + 321;
    expect(progress.at(-1)).toEqual([total, total]);
  });

  it('validates its options', async () => {
    const outDir = await tempDir();
    await expect(
      generateDay({ rows: 10, tipo1Pct: 60, tipo2Pct: 0, tipo3Pct: 60, seed: 1, outDir }),
    ).rejects.toThrow(/exceed/);
    await expect(
      generateDay({ rows: -1, tipo1Pct: 5, tipo2Pct: 3, tipo3Pct: 2, seed: 1, outDir }),
    ).rejects.toThrow(/rows/);
  });
});

describe('canonicalValor', () => {
  it('writes two decimals, a leading minus, no negative zero', () => {
    expect(canonicalValor(123_450)).toBe('1234.50');
    expect(canonicalValor(-5)).toBe('-0.05');
    expect(canonicalValor(0)).toBe('0.00');
    expect(canonicalValor(100)).toBe('1.00');
  });
});
