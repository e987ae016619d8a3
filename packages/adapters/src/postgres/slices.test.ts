import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractBase } from './base-extract.ts';
import { loadBase } from './base-load.ts';
import { type PostgresHandle, startEmbeddedPostgres } from './embedded.ts';

let dir: string;
let server: PostgresHandle;
const ids = Array.from({ length: 3000 }, (_, k) => `ORD-${k}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-slices-'));
  server = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
  async function* batches() {
    yield ids.map((ordem_id, k) => ({
      fornecedor_id: 'F',
      ordem_id,
      nome: 'n',
      ativo_id: 'A',
      data: k % 3 === 0 ? '2025-01-01' : '2026-11-20',
      valor: `${k}.00`,
    }));
  }
  await loadBase({ url: server.url, relation: 'base', batches: batches(), mode: 'replace' });
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function orders(rows: AsyncIterable<(string | null)[][]>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of rows) for (const r of batch) out.push(r[1]!);
  return out;
}

describe('base slices', () => {
  it.each([2, 3])('%i slices of `all` are disjoint and together every row', async (count) => {
    const slices = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        orders(
          extractBase({ url: server.url, relation: 'base', scope: { mode: 'all' }, slice: { index, count } }),
        ),
      ),
    );
    for (const s of slices) expect(s.length).toBeGreaterThan(3000 / count / 2);
    const all = slices.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual([...ids].sort());
  });

  it('slices of the date window plus listed orders, each slice given its share of the ids, add up to the unsliced result', async () => {
    const listed = ids.filter((_, k) => k % 6 === 0); // half of them dated outside the window
    const scope = (names: string[]) => ({
      mode: 'date-window' as const,
      from: '2026-11-01',
      to: '2026-11-30',
      ordemIds: (async function* () {
        yield names;
      })(),
    });
    const whole = await orders(extractBase({ url: server.url, relation: 'base', scope: scope(listed) }));
    const parts = await Promise.all(
      [0, 1].map((index) =>
        orders(
          extractBase({
            url: server.url,
            relation: 'base',
            scope: scope(listed.filter((_, k) => k % 2 === index)),
            slice: { index, count: 2 },
          }),
        ),
      ),
    );
    const union = parts.flat();
    expect(new Set(union).size).toBe(union.length);
    expect(union.sort()).toEqual(whole.sort());
    expect(whole).toHaveLength(2000 + 500);
  });

  it('rejects an impossible slice', () => {
    expect(() =>
      extractBase({
        url: server.url,
        relation: 'base',
        scope: { mode: 'all' },
        slice: { index: 2, count: 2 },
      }),
    ).toThrow(/invalid base slice/);
  });
});
