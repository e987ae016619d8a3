import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type NormalizedRecord, ReconError } from '@recon/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExtractScope, extractBase, type RawBaseRow } from './base-extract.ts';
import { loadBase } from './base-load.ts';
import { type PostgresHandle, startEmbeddedPostgres } from './embedded.ts';
import { OrderLookups, ordersLookupable } from './order-lookup.ts';
import { quoteRelation } from './relation.ts';

// One real server for the whole file.
let root: string;
let server: PostgresHandle;
let url: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recon-pg-adapters-'));
  server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data') });
  url = server.url;
});

afterAll(async () => {
  await server?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: unknown[],
): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function rec(ordem_id: string, overrides: Partial<NormalizedRecord> = {}): NormalizedRecord {
  return {
    fornecedor_id: 'F1',
    ordem_id,
    nome: `Cliente ${ordem_id}`,
    ativo_id: 'PETR4',
    data: '2026-03-10',
    valor: '100.00',
    ...overrides,
  };
}

async function* batchesOf<T>(items: readonly T[], size = 2): AsyncGenerator<readonly T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function asRaw(r: NormalizedRecord): RawBaseRow {
  return [r.fornecedor_id, r.ordem_id, r.nome, r.ativo_id, r.data, r.valor];
}

async function extractAll(relation: string, scope: ExtractScope = { mode: 'all' }, batchSize?: number) {
  const rows: RawBaseRow[] = [];
  for await (const batch of extractBase({ url, relation, scope, batchSize })) rows.push(...batch);
  return rows.sort((a, b) => ((a[1] ?? '') < (b[1] ?? '') ? -1 : (a[1] ?? '') > (b[1] ?? '') ? 1 : 0));
}

async function reconError(promise: Promise<unknown>): Promise<ReconError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReconError);
  return error as ReconError;
}

async function closedPortUrl(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `postgres://postgres:postgres@127.0.0.1:${port}/recon`;
}

describe('quoteRelation', () => {
  it('quotes table and schema.table', () => {
    expect(quoteRelation('transacoes')).toBe('"transacoes"');
    expect(quoteRelation('recon._base2')).toBe('"recon"."_base2"');
  });

  it.each(['', 'a b', 'x;drop table y', 'a.b.c', '"x"', '1abc', 'a.', '.a', 'tab-le', 'ação'])(
    'rejects %j with INVALID_ARGUMENT',
    (name) => {
      expect(() => quoteRelation(name)).toThrow(ReconError);
      expect(() => quoteRelation(name)).toThrow(/use "table" or "schema.table"/);
    },
  );

  it('is applied by loadBase and extractBase before anything runs', async () => {
    const load = await reconError(
      loadBase({ url, relation: 'x; drop', batches: batchesOf([]), mode: 'replace' }),
    );
    expect(load.code).toBe('INVALID_ARGUMENT');
    expect(() => extractBase({ url, relation: 'a.b.c', scope: { mode: 'all' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('loadBase', () => {
  it('creates the table with its unique index, and replace replaces', async () => {
    const first = [rec('A1'), rec('A2'), rec('A3')];
    expect(
      await loadBase({ url, relation: 'base_replace', batches: batchesOf(first), mode: 'replace' }),
    ).toEqual({
      rows: 3,
    });
    expect(await extractAll('base_replace')).toEqual(first.map(asRaw));

    const second = [rec('B1', { valor: '5.00' }), rec('A2', { nome: 'Outro' })];
    expect(
      await loadBase({ url, relation: 'base_replace', batches: batchesOf(second), mode: 'replace' }),
    ).toEqual({
      rows: 2,
    });
    expect(await extractAll('base_replace')).toEqual([asRaw(second[1]!), asRaw(second[0]!)]);

    const columns = await sql<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_name = 'base_replace' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable}`)).toEqual([
      'fornecedor_id text NO',
      'ordem_id text NO',
      'nome text NO',
      'ativo_id text NO',
      'data date NO',
      'valor numeric NO',
    ]);
    const indexes = await sql<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'base_replace'`,
    );
    expect(indexes.map((i) => i.indexdef)).toEqual([
      expect.stringMatching(/CREATE UNIQUE INDEX .* \(ordem_id\)$/),
    ]);
  });

  it('append upserts by ordem_id', async () => {
    await loadBase({
      url,
      relation: 'base_append',
      batches: batchesOf([rec('A1'), rec('A2')]),
      mode: 'replace',
    });
    const changed = rec('A2', {
      valor: '200.00',
      data: '2026-03-11',
      fornecedor_id: 'F9',
      ativo_id: 'VALE3',
    });
    const result = await loadBase({
      url,
      relation: 'base_append',
      batches: batchesOf([changed, rec('A3')]),
      mode: 'append',
    });
    expect(result).toEqual({ rows: 2 });
    expect(await extractAll('base_append')).toEqual([asRaw(rec('A1')), asRaw(changed), asRaw(rec('A3'))]);
  });

  it('append creates a missing table, in a schema it creates too', async () => {
    await loadBase({ url, relation: 'recon_s.base', batches: batchesOf([rec('S1')]), mode: 'append' });
    expect(await extractAll('recon_s.base')).toEqual([asRaw(rec('S1'))]);
  });

  it('round-trips tabs, newlines, backslashes, accents and \\N-looking text exactly', async () => {
    const records = [
      rec('T1', { nome: 'São Paulo – Ação Çé ñ 😀', fornecedor_id: 'F\tTAB' }),
      rec('T2', { nome: 'linha1\nlinha2\r\nlinha3\r', ativo_id: 'C:\\dir\\n' }),
      rec('T3', { nome: '\\N', fornecedor_id: '\\', ativo_id: '\\.' }),
      rec('T4\\x41\t', { nome: '', fornecedor_id: ' espaço ', ativo_id: '\\101' }),
    ];
    await loadBase({ url, relation: 'base_text', batches: batchesOf(records, 3), mode: 'replace' });
    expect(await extractAll('base_text')).toEqual(records.map(asRaw));
    // What the server stored is the text itself, not an escaped form.
    const stored = await sql<{ nome: string }>(`SELECT nome FROM base_text WHERE ordem_id = 'T2'`);
    expect(stored).toEqual([{ nome: 'linha1\nlinha2\r\nlinha3\r' }]);
  });

  it('keeps valor exact as decimal text', async () => {
    const valores = ['9999999999999999.99', '-9999999999999999.99', '-0.01', '0.00', '1234.50', '0.10'];
    const records = valores.map((valor, i) => rec(`V${i}`, { valor }));
    await loadBase({ url, relation: 'base_valor', batches: batchesOf(records), mode: 'replace' });
    const rows = await extractAll('base_valor');
    expect(rows.map((r) => r[5])).toEqual(valores);
    const sum = await sql<{ total: string }>('SELECT sum(valor)::text AS total FROM base_valor');
    expect(sum).toEqual([{ total: '1234.59' }]);
  });

  it('rejects an ordem_id repeated in the snapshot and leaves the table as it was', async () => {
    await loadBase({ url, relation: 'base_dup', batches: batchesOf([rec('D1')]), mode: 'replace' });
    for (const mode of ['replace', 'append'] as const) {
      const error = await reconError(
        loadBase({ url, relation: 'base_dup', batches: batchesOf([rec('D2'), rec('D3'), rec('D2')]), mode }),
      );
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/repeats an ordem_id/);
      expect(await extractAll('base_dup')).toEqual([asRaw(rec('D1'))]);
    }
  });

  it("passes on the caller's iterable error unchanged and rolls back", async () => {
    await loadBase({ url, relation: 'base_src_err', batches: batchesOf([rec('E1')]), mode: 'replace' });
    const boom = new Error('vendor stream broke');
    async function* failing(): AsyncGenerator<readonly NormalizedRecord[]> {
      yield [rec('E2'), rec('E3')];
      throw boom;
    }
    await expect(
      loadBase({ url, relation: 'base_src_err', batches: failing(), mode: 'replace' }),
    ).rejects.toBe(boom);
    expect(await extractAll('base_src_err')).toEqual([asRaw(rec('E1'))]);
    // The session was not left broken: a next load works.
    await loadBase({ url, relation: 'base_src_err', batches: batchesOf([rec('E4')]), mode: 'append' });
    expect((await extractAll('base_src_err')).map((r) => r[1])).toEqual(['E1', 'E4']);
  });

  it('reports an unreachable server as transient BASE_UNAVAILABLE naming host:port/db', async () => {
    const badUrl = await closedPortUrl();
    const error = await reconError(
      loadBase({ url: badUrl, relation: 'x', batches: batchesOf([]), mode: 'replace' }),
    );
    expect(error.code).toBe('BASE_UNAVAILABLE');
    expect(error.transient).toBe(true);
    expect(error.message).toContain(badUrl.replace(/^.*@/, ''));
    expect(error.message).not.toContain('postgres:postgres');
  });
});

describe('extractBase', () => {
  const window = { from: '2026-03-01', to: '2026-03-31' };
  const rows = [
    rec('IN_LISTED', { data: '2026-03-15' }),
    rec('IN_UNLISTED', { data: '2026-03-20' }),
    rec('FROM_EDGE', { data: '2026-03-01' }),
    rec('TO_EDGE', { data: '2026-03-31' }),
    rec('OUT_LISTED', { data: '2025-12-31' }),
    rec('OUT_UNLISTED', { data: '2026-04-01' }),
    rec('OUT_UNLISTED_OLD', { data: '2019-01-01' }),
  ];

  beforeAll(async () => {
    await loadBase({ url, relation: 'base_scope', batches: batchesOf(rows), mode: 'replace' });
    await sql('CREATE VIEW base_scope_view AS SELECT * FROM base_scope');
    await sql(`CREATE VIEW base_nulls AS
      SELECT NULL::text AS fornecedor_id, 'N1'::text AS ordem_id, NULL::text AS nome, 'X'::text AS ativo_id,
             NULL::date AS data, NULL::numeric AS valor
      UNION ALL SELECT 'F', 'N2', 'n', NULL, DATE '2026-03-05', 1.5`);
  });

  const listed = (...ids: string[][]): ExtractScope => ({
    mode: 'date-window',
    ...window,
    ordemIds: batchesOf(ids.flat(), 1) as AsyncIterable<readonly string[]>,
  });

  it('all: every row', async () => {
    expect((await extractAll('base_scope')).map((r) => r[1])).toEqual(rows.map((r) => r.ordem_id).sort());
  });

  it('date-window: the window (inclusive) plus listed orders outside it, each exactly once', async () => {
    // Listed ids come in several batches, one repeated, one unknown to the base.
    const scope = listed(['IN_LISTED', 'OUT_LISTED'], ['NOT_IN_BASE', 'OUT_LISTED', 'IN_LISTED']);
    const got = await extractAll('base_scope', scope);
    expect(got.map((r) => r[1])).toEqual(['FROM_EDGE', 'IN_LISTED', 'IN_UNLISTED', 'OUT_LISTED', 'TO_EDGE']);
    expect(got.find((r) => r[1] === 'OUT_LISTED')).toEqual(asRaw(rows[4]!));
  });

  it('date-window with no listed ids is just the window', async () => {
    const got = await extractAll('base_scope', listed([]));
    expect(got.map((r) => r[1])).toEqual(['FROM_EDGE', 'IN_LISTED', 'IN_UNLISTED', 'TO_EDGE']);
  });

  it('date-window without ordemIds reads the window only (the matchers look the rest up)', async () => {
    const got = await extractAll('base_scope', { mode: 'date-window', ...window });
    expect(got.map((r) => r[1])).toEqual(['FROM_EDGE', 'IN_LISTED', 'IN_UNLISTED', 'TO_EDGE']);
  });

  it('reads a view as the relation', async () => {
    expect(await extractAll('base_scope_view')).toEqual(await extractAll('base_scope'));
    const got = await extractAll('base_scope_view', listed(['OUT_LISTED']));
    expect(got.map((r) => r[1])).toEqual(['FROM_EDGE', 'IN_LISTED', 'IN_UNLISTED', 'OUT_LISTED', 'TO_EDGE']);
  });

  it('returns NULL columns of a view as null, also for a listed row whose data is NULL', async () => {
    const expected: RawBaseRow[] = [
      [null, 'N1', null, 'X', null, null],
      ['F', 'N2', 'n', null, '2026-03-05', '1.5'],
    ];
    expect(await extractAll('base_nulls')).toEqual(expected);
    expect(await extractAll('base_nulls', listed(['N1']))).toEqual(expected);
    expect(await extractAll('base_nulls', listed([]))).toEqual([expected[1]]);
  });

  it("renders data as YYYY-MM-DD whatever the database's DateStyle, also from a timestamp view", async () => {
    await sql(`ALTER DATABASE recon SET DateStyle = 'SQL, DMY'`);
    try {
      await sql(`CREATE VIEW base_ts AS
        SELECT 'F'::text AS fornecedor_id, 'TS1'::text AS ordem_id, 'n'::text AS nome, 'a'::text AS ativo_id,
               TIMESTAMP '2026-03-31 23:59:00' AS data, 10.5::numeric(18,2) AS valor`);
      // A timestamp late on the last day is still inside the window.
      expect(await extractAll('base_ts', listed([]))).toEqual([
        ['F', 'TS1', 'n', 'a', '2026-03-31', '10.50'],
      ]);
      expect((await extractAll('base_scope')).map((r) => r[4])).toEqual(
        [...rows].sort((a, b) => (a.ordem_id < b.ordem_id ? -1 : 1)).map((r) => r.data),
      );
    } finally {
      await sql('ALTER DATABASE recon RESET DateStyle');
    }
  });

  it('valor goes out as its own type prints it, whatever the type (numeric, text, float, integer)', async () => {
    const types: [string, string, string][] = [
      ['numeric', `10.5::numeric(18,2)`, '10.50'],
      ['text', `'1.234,56'::text`, '1.234,56'],
      ['float', `10.25::float8`, '10.25'],
      ['int', `7::int`, '7'],
    ];
    for (const [name, expression, printed] of types) {
      await sql(`CREATE VIEW base_valor_${name} AS
        SELECT 'F'::text AS fornecedor_id, 'V-${name}'::text AS ordem_id, 'n'::text AS nome, 'a'::text AS ativo_id,
               DATE '2026-03-31' AS data, ${expression} AS valor`);
      expect(await extractAll(`base_valor_${name}`, listed([]))).toEqual([
        ['F', `V-${name}`, 'n', 'a', '2026-03-31', printed],
      ]);
    }
  });

  it('names the expected columns when a view lacks one', async () => {
    await sql(`CREATE VIEW base_short AS SELECT ordem_id, nome FROM base_scope`);
    const error = await reconError(extractAll('base_short'));
    expect(error.code).toBe('BASE_UNAVAILABLE');
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/does not have the expected columns/);
  });

  it('yields batches of batchSize rows', async () => {
    const many = Array.from({ length: 2_500 }, (_, i) => rec(`M${String(i).padStart(5, '0')}`));
    await loadBase({ url, relation: 'base_many', batches: batchesOf(many, 1000), mode: 'replace' });
    const sizes: number[] = [];
    for await (const batch of extractBase({
      url,
      relation: 'base_many',
      scope: { mode: 'all' },
      batchSize: 1000,
    })) {
      sizes.push(batch.length);
    }
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('closes its connection when the consumer stops early', async () => {
    const many = Array.from({ length: 200_000 }, (_, i) => rec(`E${i}`));
    await loadBase({ url, relation: 'base_early', batches: batchesOf(many, 10_000), mode: 'replace' });
    const before = await backends();
    for await (const batch of extractBase({
      url,
      relation: 'base_early',
      scope: { mode: 'all' },
      batchSize: 100,
    })) {
      expect(batch).toHaveLength(100);
      break;
    }
    // The server notices the closed socket and ends that backend.
    for (let i = 0; (await backends()) > before && i < 100; i++) await sleep(50);
    expect(await backends()).toBe(before);
  });

  it("passes on the ordemIds iterable's error unchanged", async () => {
    const boom = new Error('vendor ids broke');
    async function* failing(): AsyncGenerator<readonly string[]> {
      yield ['IN_LISTED'];
      throw boom;
    }
    const scope: ExtractScope = { mode: 'date-window', ...window, ordemIds: failing() };
    await expect(extractAll('base_scope', scope)).rejects.toBe(boom);
  });

  it('reports a missing relation clearly, not as transient', async () => {
    const error = await reconError(extractAll('no_such_base'));
    expect(error.code).toBe('BASE_UNAVAILABLE');
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/^relation "no_such_base" does not exist/);
    const inSchema = await reconError(extractAll('nope.transacoes', listed(['A'])));
    expect(inSchema.message).toMatch(/^relation "nope.transacoes" does not exist/);
  });

  it('reports an unreachable server as transient BASE_UNAVAILABLE', async () => {
    const badUrl = await closedPortUrl();
    const iterable = extractBase({ url: badUrl, relation: 'transacoes', scope: { mode: 'all' } });
    const error = await reconError(iterable[Symbol.asyncIterator]().next());
    expect(error.code).toBe('BASE_UNAVAILABLE');
    expect(error.transient).toBe(true);
    expect(error.message).toContain(`${badUrl.replace(/^.*@/, '')}`);
  });

  it('validates the window dates before inlining them', () => {
    for (const [from, to] of [
      ["2026-01-01' OR '1'='1", '2026-01-31'],
      ['2026-02-30', '2026-03-01'],
      ['2026-1-01', '2026-01-31'],
    ] as const) {
      expect(() =>
        extractBase({
          url,
          relation: 'base_scope',
          scope: { mode: 'date-window', from, to, ordemIds: batchesOf([]) },
        }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('order lookups by id', () => {
  const window = { from: '2026-03-01', to: '2026-03-31' };
  const rows = [
    rec('IN', { data: '2026-03-15' }),
    rec('OUT_OLD', { data: '2025-12-31', nome: 'Tab\there', valor: '-0.50' }),
    rec('OUT_NEW', { data: '2026-04-01' }),
    rec('EDGE', { data: '2026-03-31' }),
  ];
  let lookups: OrderLookups;

  beforeAll(async () => {
    await loadBase({ url, relation: 'base_lookup', batches: batchesOf(rows), mode: 'replace' });
    lookups = new OrderLookups(url);
  });
  afterAll(async () => {
    await lookups?.close();
  });

  it('tells a relation held to one row per order by a unique index on a text ordem_id', async () => {
    await sql(`CREATE SCHEMA IF NOT EXISTS lk`);
    const shapes: [string, string, boolean][] = [
      ['lk.pk_text', 'ordem_id text PRIMARY KEY, data date', true],
      ['lk.uq_varchar', 'ordem_id varchar(40) UNIQUE, data date', true],
      ['lk.no_index', 'ordem_id text, data date', false],
      ['lk.bigint_id', 'ordem_id bigint UNIQUE, data date', false],
      ['lk.composite', 'ordem_id text, data date, UNIQUE (ordem_id, data)', false],
    ];
    for (const [name, columns] of shapes) await sql(`CREATE TABLE ${name} (${columns})`);
    await sql(`CREATE TABLE lk.plain_index (ordem_id text, data date)`);
    await sql(`CREATE INDEX ON lk.plain_index (ordem_id)`);
    await sql(`CREATE TABLE lk.partial (ordem_id text, data date)`);
    await sql(`CREATE UNIQUE INDEX ON lk.partial (ordem_id) WHERE data IS NOT NULL`);
    await sql(`CREATE TABLE lk.expression (ordem_id text, data date)`);
    await sql(`CREATE UNIQUE INDEX ON lk.expression (lower(ordem_id))`);
    await sql(`CREATE VIEW lk.view_of_pk AS SELECT * FROM lk.pk_text`);
    const expected: Record<string, boolean> = {
      base_lookup: true,
      ...Object.fromEntries(shapes.map(([name, , ok]) => [name, ok])),
      'lk.plain_index': false,
      'lk.partial': false,
      'lk.expression': false,
      'lk.view_of_pk': false,
      'lk.no_such_table': false,
    };
    const got: Record<string, boolean> = {};
    for (const name of Object.keys(expected)) got[name] = await ordersLookupable(url, name);
    expect(got).toEqual(expected);
    await expect(ordersLookupable(url, 'bad name')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('brings the rows of the ids asked whose data is out of the window, as COPY prints them', async () => {
    const got = await lookups.lookup(
      'base_lookup',
      ['IN', 'OUT_OLD', 'OUT_NEW', 'EDGE', 'NOT_IN_BASE'],
      window,
    );
    const byId = (a: RawBaseRow, b: RawBaseRow) => ((a[1] ?? '') < (b[1] ?? '') ? -1 : 1);
    expect(got.sort(byId)).toEqual([asRaw(rows[2]!), asRaw(rows[1]!)]);
    expect(await lookups.lookup('base_lookup', [], window)).toEqual([]);
    expect(await lookups.lookup('base_lookup', ['IN', 'EDGE'], window)).toEqual([]);
  });

  it('brings a row whose data is NULL, and prints dates as YYYY-MM-DD whatever the DateStyle', async () => {
    await sql(
      `CREATE TABLE lk.nulls (fornecedor_id text, ordem_id text PRIMARY KEY, nome text, ativo_id text, data date, valor numeric)`,
    );
    await sql(
      `INSERT INTO lk.nulls VALUES (NULL, 'N1', NULL, 'X', NULL, NULL), ('F', 'N2', 'n', 'a', '2026-04-02', 1.5)`,
    );
    await sql(`ALTER DATABASE recon SET DateStyle = 'SQL, DMY'`);
    // A pool of its own: its connections start under the altered DateStyle.
    const fresh = new OrderLookups(url);
    try {
      const got = await fresh.lookup('lk.nulls', ['N1', 'N2'], window);
      expect(got.sort((a, b) => ((a[1] ?? '') < (b[1] ?? '') ? -1 : 1))).toEqual([
        [null, 'N1', null, 'X', null, null],
        ['F', 'N2', 'n', 'a', '2026-04-02', '1.5'],
      ]);
    } finally {
      await sql('ALTER DATABASE recon RESET DateStyle');
      await fresh.close();
    }
  });

  it('reports a missing relation as BASE_UNAVAILABLE, not transient; an unreachable server as transient', async () => {
    const missing = await reconError(lookups.lookup('no_such_base', ['A'], window));
    expect(missing.code).toBe('BASE_UNAVAILABLE');
    expect(missing.transient).toBe(false);
    expect(missing.message).toMatch(/^relation "no_such_base" does not exist/);
    const unreachable = new OrderLookups(await closedPortUrl());
    try {
      const error = await reconError(unreachable.lookup('base_lookup', ['A'], window));
      expect(error.code).toBe('BASE_UNAVAILABLE');
      expect(error.transient).toBe(true);
      expect(error.message).toMatch(/looking up 1 order\(s\) in base_lookup/);
    } finally {
      await unreachable.close();
    }
  });
});

/** Client backends other than the one asking. */
async function backends(): Promise<number> {
  const [row] = await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
  );
  return row!.n;
}
