import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { escapeCopyText, type NormalizedRecord, ReconError } from '@recon/contracts';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { baseUnavailable, closeClient, openClient, sqlState } from './connection.ts';
import { uniqueOrdemIdIndexQuery } from './ordem-index.ts';
import { parseRelation, quoteRelation } from './relation.ts';

export interface LoadBaseOptions {
  url: string;
  /** `table` or `schema.table`; created (with its schema) when missing. */
  relation: string;
  /** Records already validated and normalized (RULES §3) by the caller. */
  batches: AsyncIterable<readonly NormalizedRecord[]>;
  /** `replace`: the relation ends up holding exactly these rows. `append`: upsert by ordem_id. */
  mode: 'replace' | 'append';
}

const COLUMNS = 'fornecedor_id, ordem_id, nome, ativo_id, data, valor';

const TABLE_COLUMNS = `(
  fornecedor_id text NOT NULL,
  ordem_id text NOT NULL,
  nome text NOT NULL,
  ativo_id text NOT NULL,
  data date NOT NULL,
  valor numeric(18,2) NOT NULL
)`;

/**
 * Bulk-loads a normalized snapshot into the internal base with `COPY … FROM STDIN`, streaming
 * batch by batch (the input is never held whole in memory). `replace` truncates and loads in one
 * transaction, so readers see the old rows or the new ones, never a half-loaded table. `append`
 * loads into a temporary staging table, then upserts by `ordem_id`.
 */
export async function loadBase(opts: LoadBaseOptions): Promise<{ rows: number }> {
  const name = parseRelation(opts.relation);
  const relation = quoteRelation(opts.relation);
  if (opts.mode !== 'replace' && opts.mode !== 'append') {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `invalid load mode ${JSON.stringify(opts.mode)}: use replace or append`,
    );
  }
  const { client, target } = await openClient(opts.url);
  const source = new SourceErrorTrap(opts.batches);
  try {
    await client.query('BEGIN');
    const partitioned = await ensureTable(client, name, relation);
    let rows: number;
    if (opts.mode === 'replace') {
      await client.query(`TRUNCATE ${relation}`);
      // FREEZE is allowed because the table was truncated in this transaction: the rows are
      // written already frozen, so the first reads and autovacuum need not rewrite them.
      // (Not supported on a partitioned table.)
      const freeze = partitioned ? '' : ' WITH (FREEZE)';
      rows = await copyIn(client, `COPY ${relation} (${COLUMNS}) FROM STDIN${freeze}`, source);
    } else {
      await client.query(
        `CREATE TEMP TABLE recon_base_staging (fornecedor_id text, ordem_id text, nome text, ativo_id text,
           data date, valor numeric(18,2)) ON COMMIT DROP`,
      );
      rows = await copyIn(client, `COPY pg_temp.recon_base_staging (${COLUMNS}) FROM STDIN`, source);
      await client.query(
        `INSERT INTO ${relation} AS t (${COLUMNS}) SELECT ${COLUMNS} FROM pg_temp.recon_base_staging
         ON CONFLICT (ordem_id) DO UPDATE SET
           fornecedor_id = EXCLUDED.fornecedor_id, nome = EXCLUDED.nome, ativo_id = EXCLUDED.ativo_id,
           data = EXCLUDED.data, valor = EXCLUDED.valor
         WHERE (t.fornecedor_id, t.nome, t.ativo_id, t.data, t.valor)
           IS DISTINCT FROM (EXCLUDED.fornecedor_id, EXCLUDED.nome, EXCLUDED.ativo_id, EXCLUDED.data, EXCLUDED.valor)`,
      );
    }
    await client.query('COMMIT');
    return { rows };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if (source.error !== undefined) throw source.error;
    throw loadError(error, target, opts.relation);
  } finally {
    await closeClient(client);
  }
}

/** Creates the table and its unique index when missing; returns whether it is partitioned. */
async function ensureTable(
  client: pg.Client,
  name: { schema: string | undefined; table: string },
  relation: string,
): Promise<boolean> {
  if (name.schema !== undefined) {
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name.schema]);
    if (rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS "${name.schema}"`);
  }
  await client.query(`CREATE TABLE IF NOT EXISTS ${relation} ${TABLE_COLUMNS}`);
  // Any non-partial unique index on exactly (ordem_id) serves ON CONFLICT (ordem_id); only add
  // ours when there is none, so a table created elsewhere with its own key gets no duplicate.
  const { rowCount } = await client.query(uniqueOrdemIdIndexQuery('$1::regclass'), [relation]);
  if (rowCount === 0) {
    const indexName = `${name.table.slice(0, 50)}_ordem_id_key`;
    await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS "${indexName}" ON ${relation} (ordem_id)`);
  }
  const kind = await client.query<{ relkind: string }>(
    'SELECT relkind FROM pg_class WHERE oid = $1::regclass',
    [relation],
  );
  return kind.rows[0]?.relkind === 'p';
}

/** Streams the batches as COPY text into `sql`; returns the rows the server counted. */
async function copyIn(client: pg.Client, sql: string, source: SourceErrorTrap): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from(source.lines(), { objectMode: false }), stream);
  return stream.rowCount;
}

/** Remembers an error thrown by the caller's iterable, so it is rethrown as it was. */
class SourceErrorTrap {
  error: unknown;
  readonly #batches: AsyncIterable<readonly NormalizedRecord[]>;

  constructor(batches: AsyncIterable<readonly NormalizedRecord[]>) {
    this.#batches = batches;
  }

  /** One string of COPY text lines per input batch. */
  async *lines(): AsyncGenerator<string> {
    try {
      for await (const batch of this.#batches) {
        if (batch.length === 0) continue;
        let text = '';
        for (const r of batch) {
          // data and valor are escaped too: a malformed value must fail the load, never split a row.
          text += `${escapeCopyText(r.fornecedor_id)}\t${escapeCopyText(r.ordem_id)}\t${escapeCopyText(r.nome)}\t${escapeCopyText(r.ativo_id)}\t${escapeCopyText(r.data)}\t${escapeCopyText(r.valor)}\n`;
        }
        yield text;
      }
    } catch (error) {
      this.error = error;
      throw error;
    }
  }
}

function loadError(error: unknown, target: string, relation: string): ReconError {
  const state = sqlState(error);
  const detail = (error as { detail?: unknown }).detail;
  const message = error instanceof Error ? error.message : String(error);
  if (state === '23505' || state === '21000') {
    // 23505: a repeated ordem_id in a replace load; 21000: the same in an append (ON CONFLICT
    // cannot update one row twice). The caller was to drop duplicates (RULES §2).
    return new ReconError(
      'INVALID_ARGUMENT',
      `the snapshot loaded into ${relation} repeats an ordem_id: ${message}${typeof detail === 'string' ? ` (${detail})` : ''}`,
      { cause: error },
    );
  }
  if (state !== undefined && (state.startsWith('22') || state.startsWith('23'))) {
    // Data exceptions / constraint violations: a bad value, not an unavailable base.
    return new ReconError('INVALID_ARGUMENT', `a record could not be loaded into ${relation}: ${message}`, {
      cause: error,
    });
  }
  return baseUnavailable(target, `loading ${relation}`, error);
}
