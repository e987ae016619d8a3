import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExpectedCounts, type GeneratedDay, generateDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OracleResult, type OracleRow, type OracleScope, oracleReconcile } from './duckdb-oracle.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'recon-oracle-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const VENDOR_HEADER = 'fornecedor_id;ordem_id;nome;ativo_id;data;valor';

/** Runs the oracle on hand-written CSV text (vendor lines get CRLF, base lines LF). */
async function runCase(
  vendorLines: string[],
  baseLines: string[],
  scope: OracleScope = 'date-window',
  baseHeader = 'ordem_id;fornecedor_id;nome;ativo_id;data;valor',
): Promise<OracleResult> {
  const dir = await tempDir();
  const vendorCsv = join(dir, 'vendor.csv');
  const baseCsv = join(dir, 'base.csv');
  await writeFile(vendorCsv, `${[VENDOR_HEADER, ...vendorLines].join('\r\n')}\r\n`);
  await writeFile(baseCsv, `${[baseHeader, ...baseLines].join('\n')}\n`);
  return oracleReconcile({ vendorCsv, baseCsv, scope });
}

function countByType(rows: OracleRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.tipo_divergencia] = (out[r.tipo_divergencia] ?? 0) + 1;
  return out;
}

function only(rows: OracleRow[], tipo: string, ordem: string): OracleRow {
  const found = rows.filter((r) => r.tipo_divergencia === tipo && r.ordem_id === ordem);
  expect(found, `${tipo} ${ordem}`).toHaveLength(1);
  return found[0] as OracleRow;
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The hash the oracle should have put on a row, recomputed from the row's own columns. */
function rowHash(r: OracleRow): string {
  const valor = r.tipo_divergencia === 'TIPO_2' ? r.valor_base : r.valor_csv;
  return sha256([r.fornecedor_id, r.ordem_id, r.nome, r.ativo_id, r.data, valor].join(';'));
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

describe('generateDay', () => {
  const opts = { rows: 3000, tipo1Pct: 5, tipo2Pct: 3, tipo3Pct: 2, invalidPct: 2, duplicatePct: 1 };

  it('is deterministic: same seed => identical bytes, other seed => other bytes', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    await generateDay({ ...opts, seed: 123, outDir: a });
    await generateDay({ ...opts, seed: 123, outDir: b });
    await generateDay({ ...opts, seed: 124, outDir: c });
    for (const f of ['vendor.csv', 'base.csv', 'expected.json']) {
      const [x, y] = [await readFile(join(a, f)), await readFile(join(b, f))];
      expect(x.equals(y), f).toBe(true);
    }
    for (const f of ['vendor.csv', 'base.csv']) {
      const [x, z] = [await readFile(join(a, f)), await readFile(join(c, f))];
      expect(x.equals(z), f).toBe(false);
    }
  });

  it('writes an unsorted CRLF vendor file and an LF base file with another column order', async () => {
    const dir = await tempDir();
    await generateDay({ ...opts, seed: 9, outDir: dir });
    const vendor = await readFile(join(dir, 'vendor.csv'), 'utf8');
    const base = await readFile(join(dir, 'base.csv'), 'utf8');
    expect(vendor.startsWith(`${VENDOR_HEADER}\r\n`)).toBe(true);
    expect(vendor.replaceAll('\r\n', '')).not.toContain('\n');
    expect(base.startsWith('ordem_id;fornecedor_id;nome;ativo_id;data;valor\n')).toBe(true);
    expect(base).not.toContain('\r');

    // ordem_id is the 2nd field; the 1st (fornecedor_id) is never quoted.
    const ids = vendor
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(';')[1]?.trim() ?? '')
      .filter((id) => id.startsWith('ORD-'));
    expect(ids.length).toBeGreaterThan(2900);
    const sorted = [...ids].sort();
    expect(ids).not.toEqual(sorted);
    let descents = 0;
    for (let i = 1; i < ids.length; i++) if ((ids[i] as string) < (ids[i - 1] as string)) descents++;
    expect(descents).toBeGreaterThan(ids.length / 4);
  });
});

describe('oracle vs generator on a 20k-row day', () => {
  let day: GeneratedDay;
  let window: { min: string; max: string };
  const results = new Map<OracleScope, OracleResult>();

  beforeAll(async () => {
    const dir = await tempDir();
    day = await generateDay({
      rows: 20_000,
      tipo1Pct: 5,
      tipo2Pct: 3,
      tipo3Pct: 2,
      seed: 20_251_121,
      outDir: dir,
      invalidPct: 2,
      duplicatePct: 1.5,
    });
    window = JSON.parse(await readFile(day.expectedPath, 'utf8')).window;
    for (const scope of ['date-window', 'all'] as const) {
      results.set(scope, await oracleReconcile({ vendorCsv: day.vendorPath, baseCsv: day.basePath, scope }));
    }
  });

  for (const scope of ['date-window', 'all'] as const) {
    it(`agrees with expected.json under scope ${scope}`, () => {
      const r = results.get(scope) as OracleResult;
      const e: ExpectedCounts = day.expected[scope];
      expect(e.invalid_lines).toBeGreaterThan(0);
      expect(e.rejects.DUPLICATE_ORDEM_ID).toBeGreaterThan(0);
      expect(nonZero(countByType(r.rows))).toEqual(nonZero(e.divergences));
      expect(r.validLines).toBe(e.valid_lines);
      expect(r.invalidLines).toBe(e.invalid_lines);
      expect(r.validLines + r.invalidLines).toBe(e.total_lines);
      expect(r.rejects).toEqual(e.rejects);
      expect(r.baseRows).toBe(e.base_rows);
      expect(r.matched).toBe(e.matched);
      expect(r.distinctOrders).toBe(e.distinct_orders);
      expect(r.divergentOrders).toBe(e.divergent_orders);
      expect(r.divergentOrders / r.distinctOrders).toBeCloseTo(e.divergence_rate, 12);
    });
  }

  it('scopes differ only by the history rows (TIPO_2)', () => {
    const dw = day.expected['date-window'];
    const all = day.expected.all;
    expect(all.divergences.TIPO_2 - dw.divergences.TIPO_2).toBe(2000);
    expect({ ...all.divergences, TIPO_2: 0 }).toEqual({ ...dw.divergences, TIPO_2: 0 });
  });

  it('keeps TIPO_3_DATA for base dates outside the vendor window (date-window scope)', () => {
    const rows = (results.get('date-window') as OracleResult).rows.filter(
      (r) => r.tipo_divergencia === 'TIPO_3_DATA',
    );
    const outside = rows.filter(
      (r) => (r.data_base as string) < window.min || (r.data_base as string) > window.max,
    );
    expect(outside.length).toBeGreaterThan(10);
    expect(rows.length - outside.length).toBeGreaterThan(10);
    for (const r of rows) {
      expect(r.data >= window.min && r.data <= window.max).toBe(true);
      expect(r.data).not.toBe(r.data_base);
    }
  });

  it('produces rows sorted by (tipo, ordem_id), consistent hashes and differences', () => {
    const rows = (results.get('all') as OracleResult).rows;
    for (let i = 1; i < rows.length; i++) {
      const [p, c] = [rows[i - 1] as OracleRow, rows[i] as OracleRow];
      const ordered =
        p.tipo_divergencia < c.tipo_divergencia ||
        (p.tipo_divergencia === c.tipo_divergencia && p.ordem_id < c.ordem_id);
      expect(ordered).toBe(true);
    }
    for (const r of rows) {
      expect(r.hash_linha).toBe(rowHash(r));
      if (r.valor_csv !== null && r.valor_base !== null) {
        const cents = (s: string) => BigInt(s.replace('.', ''));
        expect(cents(r.diferenca as string)).toBe(cents(r.valor_csv) - cents(r.valor_base));
      } else {
        expect(r.diferenca).toBeNull();
      }
    }
    // The generator's TIPO_3_VALOR deltas include both severity boundaries exactly.
    const sev = new Set(rows.filter((r) => r.tipo_divergencia === 'TIPO_3_VALOR').map((r) => r.severidade));
    expect([...sev].sort()).toEqual(['HIGH', 'LOW', 'MEDIUM']);
  });
});

describe('oracle: hand-written cases', () => {
  it('parses valor per RULES §3 (separators, half-even, sign) on both sides', async () => {
    const cases: [string, string][] = [
      ['10.005', '10.00'],
      ['10.015', '10.02'],
      ['10.025', '10.02'],
      ['-10.025', '-10.02'],
      ['10,035', '10.04'],
      ['10.0251', '10.03'],
      ['1.234,56', '1234.56'],
      ['1,234.56', '1234.56'],
      ['1234,56', '1234.56'],
      ['1.234', '1.23'],
      ['1.234.567', '1234567.00'],
      ['1,234,567.891', '1234567.89'],
      ['  42 ', '42.00'],
      ['-0.001', '0.00'],
      ['0,005', '0.00'],
    ];
    const vendor = cases.map(([v], i) => `F;V${i};Nome;A;2026-11-01;${v}`);
    const base = cases.map((_, i) => `V${i};F;Nome;A;2026-11-01;0.01`);
    // The same rounding applies to the base side: 10.005 there equals 10.00 here.
    vendor.push('F;BASE_ROUND;Nome;A;2026-11-01;10.00');
    base.push('BASE_ROUND;F;Nome;A;2026-11-01;10.005');
    const r = await runCase(vendor, base);
    expect(r.invalidLines).toBe(0);
    expect(countByType(r.rows)).toEqual({ TIPO_3_VALOR: cases.length });
    cases.forEach(([raw, canonical], i) => {
      const row = only(r.rows, 'TIPO_3_VALOR', `V${i}`);
      expect(row.valor_csv, raw).toBe(canonical);
      expect(row.valor_base).toBe('0.01');
    });
    expect(only(r.rows, 'TIPO_3_VALOR', 'V3').diferenca).toBe('-10.03');
    expect(only(r.rows, 'TIPO_3_VALOR', 'V13').diferenca).toBe('-0.01');
  });

  it('rejects malformed lines with the right reason and keeps the first duplicate', async () => {
    const r = await runCase(
      [
        'F;D1;Nome;A;01/02/2026;5.00',
        'F;D2;Nome;A;2026-02-30;5.00',
        'F;D3;Nome;A;30/02/2026;5.00',
        'F;D3b;Nome;A;2026-2-01;5.00',
        'F;  ;Nome;A;2026-02-01;5.00',
        'F;;Nome;A;2026-02-01;5.00',
        'F;D5;Nome;A;2026-02-01;5.00;extra',
        'F;D5b;Nome;A;2026-02-01',
        'F;D6;Nome;A;2026-02-01;abc',
        'F;D6b;Nome;A;2026-02-01;1e5',
        'F;D6c;Nome;A;2026-02-01;',
        'F;D6d;Nome;A;2026-02-01;1..5',
        'F; D1 ;Nome;A;2026-02-01;7.00',
        'F;D7;Nome;A;29/02/2024;5.00',
      ],
      ['D1;F;Nome;A;2026-02-01;5.00', 'D7;F;Nome;A;2024-02-29;5.00'],
    );
    expect(r.rejects).toEqual({
      FIELD_COUNT: 2,
      MISSING_ORDEM_ID: 2,
      INVALID_DATE: 3,
      INVALID_VALOR: 4,
      DUPLICATE_ORDEM_ID: 1,
    });
    expect(r.validLines).toBe(2);
    expect(r.invalidLines).toBe(12);
    // DD/MM/YYYY matches the ISO base date; the later D1 (valor 7.00) is ignored.
    expect(r.rows).toEqual([]);
  });

  it('compares text after trim + NFC, case-sensitively, with RFC 4180 quoting', async () => {
    const nfd = 'Joa\u0303o Conceic\u0327a\u0303o';
    const ok = await runCase(
      [
        `F;N1;\t${nfd}  ;A;2026-11-01;1.00`,
        'F;N2;"Silva; Jr";A;2026-11-01;1.00',
        'F;N3;"Maria ""Bia"" Souza";A;2026-11-01;1.00',
        'F;N4;joão;A;2026-11-01;1.00',
        ' F ;N5;Ana;\tA ;2026-11-01;1.00',
      ],
      [
        '1.00;N1;F;João Conceição;A;2026-11-01',
        '1.00;N2;F;"Silva; Jr";A;2026-11-01',
        '1.00;N3;F;"Maria ""Bia"" Souza";A;2026-11-01',
        '1.00;N4;F;João;A;2026-11-01',
        '1.00;N5;F;Ana;A;2026-11-01',
      ],
      'date-window',
      // Base header in another order, with odd case and blanks (RULES §2 allows it).
      ' VALOR ;Ordem_ID;fornecedor_id;NOME;ativo_id;data',
    );
    expect(ok.rows.map((x) => [x.tipo_divergencia, x.ordem_id])).toEqual([['TIPO_3_NOME', 'N4']]);
    const n4 = only(ok.rows, 'TIPO_3_NOME', 'N4');
    expect(n4.nome).toBe('joão');
    expect(n4.severidade).toBe('LOW');
    expect(n4.diferenca).toBe('0.00');
    expect(n4.hash_linha).toBe(sha256('F;N4;joão;A;2026-11-01;1.00'));
  });

  it('fails on a header without the six columns', async () => {
    await expect(
      runCase(
        ['F;X;N;A;2026-11-01;1.00'],
        ['X;F;N;A;2026-11-01'],
        'all',
        'ordem_id;fornecedor_id;nome;ativo_id;dia',
      ),
    ).rejects.toThrow(/missing \[data, valor\], unknown \[dia\]/);
  });

  it('applies the date-window scope of RULES §5', async () => {
    const vendor = [
      'F;W1;Nome;A;2026-11-05;1.00',
      'F;T1;Nome;A;01/11/2026;2.00',
      'F;W5;Nome;A;10/11/2026;3.00',
      'F;BAD;Nome;A;2026-12-31;x',
    ];
    const base = [
      'W1;F;Nome;A;2026-10-01;1.00', // moved out of the window: still TIPO_3_DATA
      'W2;F;Nome;A;2026-11-03;1.00', // inside: TIPO_2
      'W3;F;Nome;A;2026-10-31;1.00', // the day before the window: TIPO_2 only under 'all'
      'W4;F;Nome;A;2026-11-10;1.00', // the window's last day: TIPO_2
      'W5;F;Nome;A;2026-11-10;3.00',
      'BAD;F;Nome;A;2026-12-31;1.00', // its vendor line is invalid: out of the window
    ];
    const dw = await runCase(vendor, base, 'date-window');
    expect(countByType(dw.rows)).toEqual({ TIPO_1: 1, TIPO_2: 2, TIPO_3_DATA: 1 });
    expect(dw.rows.filter((x) => x.tipo_divergencia === 'TIPO_2').map((x) => x.ordem_id)).toEqual([
      'W2',
      'W4',
    ]);
    const w1 = only(dw.rows, 'TIPO_3_DATA', 'W1');
    expect([w1.data, w1.data_base, w1.severidade, w1.campo]).toEqual([
      '2026-11-05',
      '2026-10-01',
      'MEDIUM',
      'data',
    ]);
    expect(w1.diferenca).toBe('0.00');
    expect([dw.baseRows, dw.matched, dw.distinctOrders, dw.divergentOrders]).toEqual([4, 2, 5, 4]);

    const all = await runCase(vendor, base, 'all');
    expect(countByType(all.rows)).toEqual({ TIPO_1: 1, TIPO_2: 4, TIPO_3_DATA: 1 });
    expect([all.baseRows, all.matched, all.distinctOrders, all.divergentOrders]).toEqual([6, 2, 7, 6]);

    const w2 = only(all.rows, 'TIPO_2', 'W2');
    expect([w2.data, w2.data_base, w2.valor_csv, w2.valor_base, w2.diferenca, w2.severidade]).toEqual([
      '2026-11-03',
      '2026-11-03',
      null,
      '1.00',
      null,
      'HIGH',
    ]);
    expect(w2.hash_linha).toBe(sha256('F;W2;Nome;A;2026-11-03;1.00'));
    const t1 = only(all.rows, 'TIPO_1', 'T1');
    expect([t1.data, t1.data_base, t1.valor_csv, t1.valor_base, t1.diferenca, t1.severidade]).toEqual([
      '2026-11-01',
      null,
      '2.00',
      null,
      null,
      'HIGH',
    ]);
  });

  it('grades TIPO_3_VALOR at |diff| ≥ 1.00 and ≥ 1000.00, and splits multi-field orders', async () => {
    const pairs: [string, string, string, string][] = [
      // ordem, vendor valor, base valor, severity
      ['S1', '101.00', '100.00', 'MEDIUM'],
      ['S2', '100.99', '100.00', 'LOW'],
      ['S3', '99.00', '100.00', 'MEDIUM'],
      ['S4', '1100.00', '100.00', 'HIGH'],
      ['S5', '1099.99', '100.00', 'MEDIUM'],
      ['S6', '-900.00', '100.00', 'HIGH'],
      ['S7', '100.01', '100.00', 'LOW'],
    ];
    const r = await runCase(
      [
        ...pairs.map(([o, v]) => `F;${o};Nome;A;2026-11-01;${v}`),
        'FORN-2;M1;Ana Lima;ATV-2;2026-11-02;12.00',
      ],
      [
        ...pairs.map(([o, , b]) => `${o};F;Nome;A;2026-11-01;${b}`),
        'M1;FORN-1;Ana Silva;ATV-1;2026-11-01;10.00',
      ],
    );
    for (const [o, , , sev] of pairs) expect(only(r.rows, 'TIPO_3_VALOR', o).severidade, o).toBe(sev);
    expect(only(r.rows, 'TIPO_3_VALOR', 'S6').diferenca).toBe('-1000.00');

    const m1 = r.rows.filter((x) => x.ordem_id === 'M1');
    expect(m1.map((x) => [x.tipo_divergencia, x.campo, x.severidade])).toEqual([
      ['TIPO_3_ATIVO', 'ativo_id', 'LOW'],
      ['TIPO_3_DATA', 'data', 'MEDIUM'],
      ['TIPO_3_FORNECEDOR', 'fornecedor_id', 'MEDIUM'],
      ['TIPO_3_NOME', 'nome', 'LOW'],
      ['TIPO_3_VALOR', 'valor', 'MEDIUM'],
    ]);
    for (const x of m1) {
      expect([x.fornecedor_id, x.nome, x.ativo_id, x.data, x.data_base]).toEqual([
        'FORN-2',
        'Ana Lima',
        'ATV-2',
        '2026-11-02',
        '2026-11-01',
      ]);
      expect([x.valor_csv, x.valor_base, x.diferenca]).toEqual(['12.00', '10.00', '2.00']);
      expect(x.hash_linha).toBe(sha256('FORN-2;M1;Ana Lima;ATV-2;2026-11-02;12.00'));
    }
    expect(r.divergentOrders).toBe(8);
  });
});
