import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters';
import { baseLoad } from '@recon/cli/base-load';
import { reconcile } from '@recon/cli/reconcile';
import { type GeneratedDay, generateDay } from '@recon/generator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oracleReconcile } from '../oracle/duckdb-oracle.ts';
import { readParquet } from '../support/parquet.ts';

let dir: string;
let server: PostgresHandle;
let day: GeneratedDay;

/** `work` on a connection of its own to the test server, closed after. */
async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-pg-'));
  server = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
  day = await generateDay({
    rows: 15_000,
    tipo1Pct: 5,
    tipo2Pct: 3,
    tipo3Pct: 2,
    invalidPct: 1,
    duplicatePct: 1,
    historyRows: 2_000,
    seed: 11,
    outDir: join(dir, 'day'),
  });
  const loaded = await baseLoad({
    file: day.basePath,
    url: server.url,
    relation: 'transacoes',
    mode: 'replace',
    quiet: true,
  });
  expect(loaded.rejected).toEqual([]);
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.each(['date-window', 'all'] as const)(
  'the PostgreSQL base (COPY … TO STDOUT), scope %s',
  (scope) => {
    it('gives the planted counts and the oracle rows', async () => {
      const { summary } = await reconcile({
        file: day.vendorPath,
        base: { kind: 'postgres', url: server.url, relation: 'transacoes' },
        out: join(dir, `out-${scope}`),
        scope,
        shards: 4,
        // Each shard's lines in buckets, matched a bucket at a time (the lookups' lines too).
        shardBuckets: 4,
        chunkBytes: 96 << 10,
      });
      const expected = day.expected[scope];
      expect(summary.status).toBe('SUCCEEDED');
      expect(summary.divergences).toEqual(expected.divergences);
      expect(summary.base_rows).toBe(expected.base_rows);
      expect(summary.matched).toBe(expected.matched);
      expect(summary.valid_lines).toBe(expected.valid_lines);
      const { rows } = await readParquet(summary.outputs.divergences as string[]);
      const oracle = await oracleReconcile({ vendorCsv: day.vendorPath, baseCsv: day.basePath, scope });
      const key = (r: {
        tipo_divergencia: string;
        ordem_id: string;
        valor_csv: string | null;
        valor_base: string | null;
        data_base: string | null;
        hash_linha: string;
        severidade: string;
      }) =>
        `${r.tipo_divergencia}|${r.ordem_id}|${r.valor_csv}|${r.valor_base}|${r.data_base}|${r.severidade}|${r.hash_linha}`;
      expect(rows.map(key)).toEqual(oracle.rows.map(key));
      if (scope === 'date-window') {
        // An order whose base date left the window is still matched: TIPO_3_DATA, not TIPO_1 + nothing.
        const window = summary.window!;
        const moved = rows.filter(
          (r) =>
            r.tipo_divergencia === 'TIPO_3_DATA' && (r.data_base! < window.from || r.data_base! > window.to),
        );
        expect(moved.length).toBeGreaterThan(0);
      }
    });
  },
);

describe('a hand-made base in PostgreSQL', () => {
  it('handles a base row whose date left the window, history rows, and a view as the relation', async () => {
    await withClient(async (client) => {
      await client.query(
        `CREATE TABLE hist (fornecedor_id text, ordem_id text, nome text, ativo_id text, data date, valor numeric(18,2))`,
      );
      await client.query(`INSERT INTO hist VALUES
        ('F','A','Ana','X','2026-11-20', 10.00),
        ('F','B','Bia','X','2025-01-05', 20.00),
        ('F','C','Caio','X','2024-06-01', 30.00),
        ('F','D','Davi','X','2026-11-20', 40.005)`);
      await client.query(`CREATE VIEW hist_v AS SELECT * FROM hist`);
    });
    const vendor = join(dir, 'hand.csv');
    await writeFile(
      vendor,
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor\nF;A;Ana;X;2026-11-20;10,00\nF;B;Bia;X;2026-11-20;20.00\n',
    );
    const run = async (scope: 'date-window' | 'all') =>
      (
        await reconcile({
          file: vendor,
          base: { kind: 'postgres', url: server.url, relation: 'public.hist_v' },
          out: join(dir, `hand-${scope}`),
          scope,
        })
      ).summary;
    const windowed = await run('date-window');
    // B moved out of the window (TIPO_3_DATA); C is history (out of scope); D is in the window but not in the file.
    expect(windowed.divergences).toMatchObject({ TIPO_1: 0, TIPO_2: 1, TIPO_3_DATA: 1 });
    expect(windowed.base_rows).toBe(3);
    const all = await run('all');
    expect(all.divergences).toMatchObject({ TIPO_1: 0, TIPO_2: 2, TIPO_3_DATA: 1 });
    const { rows } = await readParquet(windowed.outputs.divergences as string[]);
    expect(rows.find((r) => r.ordem_id === 'D')?.valor_base).toBe('40.01'); // numeric(18,2) rounded it on insert
  });

  it('looks up by id the orders the window of a uniquely indexed table missed, as a view reads them with the file', async () => {
    await withClient(async (client) => {
      await client.query(
        `CREATE TABLE hist_u (fornecedor_id text, ordem_id text PRIMARY KEY, nome text, ativo_id text, data date, valor numeric(18,2))`,
      );
      await client.query(`INSERT INTO hist_u VALUES
        ('F','A','Ana','X','2026-11-20', 10.00),
        ('F','B','Bia','X','2025-01-05', 20.00),
        ('F','C','Caio','X','2024-06-01', 30.00),
        ('F','D','Davi','X','2026-11-20', 40.00),
        ('F','E','Eva','X', NULL, 50.00),
        ('F','G','Guto','X','2026-12-25', 70.00)`);
      await client.query(`CREATE VIEW hist_uv AS SELECT * FROM hist_u`);
    });
    const vendor = join(dir, 'lookup.csv');
    await writeFile(
      vendor,
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor\n' +
        'F;A;Ana;X;2026-11-20;10,00\nF;B;Bia;X;2026-11-20;20.00\nF;E;Eva;X;2026-11-19;50\n' +
        'F;F;Fábio;X;2026-11-19;60\nF;G;Gustavo;X;2026-11-21;70\n',
    );
    const run = async (relation: string) => {
      const logs: string[] = [];
      const { summary } = await reconcile({
        file: vendor,
        base: { kind: 'postgres', url: server.url, relation },
        out: join(dir, `lookup-${relation}`),
        scope: 'date-window',
        fixedNow: '2026-11-22T10:00:00.000Z',
        jobId: 'JOB-20261122-000077',
        shards: 2,
        shardBuckets: 8,
        logLevel: 'info',
        logDestination: (line) => logs.push(line),
      });
      const { rows } = await readParquet(summary.outputs.divergences as string[]);
      const lookups = logs
        .map((line) => JSON.parse(line) as { msg: string; asked?: number; found?: number; rejected?: number })
        .filter((l) => l.msg.startsWith('unmatched orders looked up'));
      return { summary, rows, lookups };
    };
    const table = await run('hist_u');
    const view = await run('hist_uv');
    // The table's slices read the window (A, D); the matchers looked up B, E, F and G by id: B and
    // G moved out of the window, E has no date (a base reject), F is not in the base.
    expect(table.lookups.reduce((n, l) => n + l.asked!, 0)).toBe(4);
    expect(table.lookups.reduce((n, l) => n + l.found!, 0)).toBe(3);
    expect(table.lookups.reduce((n, l) => n + l.rejected!, 0)).toBe(1);
    // A view has no index: its slices read the file's orders with the window, nothing is looked up.
    expect(view.lookups).toEqual([]);
    expect(table.summary.divergences).toMatchObject({ TIPO_1: 2, TIPO_2: 1, TIPO_3_DATA: 2, TIPO_3_NOME: 1 });
    expect(table.summary.base_rows).toBe(4);
    expect(table.summary.matched).toBe(3);
    expect(table.summary.base_invalid_rows).toBe(1);
    for (const key of [
      'divergences',
      'base_rows',
      'matched',
      'base_invalid_rows',
      'distinct_orders',
    ] as const)
      expect(table.summary[key]).toEqual(view.summary[key]);
    expect(table.rows).toEqual(view.rows);
    expect(table.rows.filter((r) => r.tipo_divergencia === 'TIPO_1').map((r) => r.ordem_id)).toEqual([
      'E',
      'F',
    ]);
  });

  it('base load rejects bad lines with the vendor rules and loads the rest', async () => {
    const file = join(dir, 'snapshot.csv');
    await writeFile(
      file,
      'ordem_id;fornecedor_id;nome;ativo_id;data;valor\nO1;F;Ana;A;2026-11-20;1.234,56\nO2;F;Bia;A;2026-02-30;1\nO1;F;Ana;A;2026-11-20;9\nO3;F;Caio;A\nO4;F;"Silva; Jr";A;21/11/2026;-5\n',
    );
    const result = await baseLoad({ file, url: server.url, relation: 'snap', mode: 'replace', quiet: true });
    expect(result.rows).toBe(2);
    expect(result.rejected.map((r) => [r.linha, r.motivo])).toEqual([
      [3, 'INVALID_DATE'],
      [4, 'DUPLICATE_ORDEM_ID'],
      [5, 'FIELD_COUNT'],
    ]);
    const { rows } = await withClient((client) =>
      client.query(`SELECT ordem_id, nome, data::text, valor::text FROM snap ORDER BY ordem_id`),
    );
    expect(rows).toEqual([
      { ordem_id: 'O1', nome: 'Ana', data: '2026-11-20', valor: '1234.56' },
      { ordem_id: 'O4', nome: 'Silva; Jr', data: '2026-11-21', valor: '-5.00' },
    ]);
  });
});
