import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type BaseExtractScope,
  CopyTextParser,
  escapeCopyText,
  type RawBaseRow,
  ReconError,
} from '@recon/contracts';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { baseUnavailable, closeClient, openClient, sqlState } from './connection.ts';
import { quoteRelation } from './relation.ts';

/** Which base rows take part (RULES §5); the port's type, named for this adapter. */
export type ExtractScope = BaseExtractScope;
export type { RawBaseRow };

export interface ExtractBaseOptions {
  url: string;
  /** `table` or `schema.table`; a table or a view with the six columns. */
  relation: string;
  scope: ExtractScope;
  /** Rows per yielded batch (default 10,000). */
  batchSize?: number;
  /**
   * Only slice `index` of `count`: rows whose `hashtext(ordem_id)` falls in it. Applies to every
   * row of `all` and to the window branch of `date-window`; the listed ids come whatever the
   * slice (the caller splits the id list), so slices are disjoint and together complete.
   */
  slice?: { index: number; count: number };
}

const DEFAULT_BATCH_SIZE = 10_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Streams the base out with `COPY (SELECT …) TO STDOUT`, in batches. Nothing is read until the
 * first batch is asked for; the connection is closed when the stream ends, fails, or the consumer
 * stops early. The relation name, scope and dates are checked at once (they are inlined in SQL,
 * since COPY takes no parameters).
 */
export function extractBase(opts: ExtractBaseOptions): AsyncIterable<RawBaseRow[]> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ReconError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  }
  return copyRows(extractBaseText(opts), batchSize);
}

/**
 * The same rows as `extractBase`, as PostgreSQL sends them: COPY text, in chunks of whole lines
 * (the `BaseReader` port). Checked and started as `extractBase` is.
 */
export function extractBaseText(opts: Omit<ExtractBaseOptions, 'batchSize'>): AsyncIterable<Buffer> {
  const relation = quoteRelation(opts.relation);
  const scope = opts.scope;
  if (scope.mode === 'date-window') {
    checkDate('from', scope.from);
    checkDate('to', scope.to);
  } else if (scope.mode !== 'all') {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `invalid base scope ${JSON.stringify((scope as { mode: unknown }).mode)}: use all or date-window`,
    );
  }
  const slice = opts.slice ?? { index: 0, count: 1 };
  if (
    !Number.isInteger(slice.count) ||
    slice.count < 1 ||
    !Number.isInteger(slice.index) ||
    slice.index < 0 ||
    slice.index >= slice.count
  ) {
    throw new ReconError('INVALID_ARGUMENT', `invalid base slice ${JSON.stringify(slice)}`);
  }
  return streamText(opts.url, opts.relation, relation, scope, slice);
}

function checkDate(name: string, value: string): void {
  const valid =
    typeof value === 'string' &&
    ISO_DATE.test(value) &&
    // Round-trips only when the day exists (2026-02-30 does not).
    new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value;
  if (!valid) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `scope.${name} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * `data::date` printed under DateStyle ISO (set for the session) is "YYYY-MM-DD", byte for byte
 * what `to_char(data, 'YYYY-MM-DD')` gives, but to_char costs ~0.6 s per million rows here (it
 * nearly doubles the COPY). For a date column the cast is a no-op; it also makes a view whose
 * `data` is a timestamp or ISO text work. `valor` goes out as its type prints it (numeric:
 * "1234.50"); a `valor::text` cast printed the same bytes (a cast to text calls the same output
 * function) and cost ~0.15 µs per row more on the server, ~0.1 s per slice of the 1M-row day.
 */
const SELECT_LIST = selectList('data::date');

/** The six columns in canonical order, `data` as the expression given. */
export function selectList(data: string): string {
  return `fornecedor_id, ordem_id, nome, ativo_id, ${data}, valor`;
}

/**
 * Settings of an extraction session. The slices are the parallelism (one connection per worker):
 * a parallel plan inside a slice only adds processes and a tuple queue on the same cores. The
 * listed-orders join hashes the vendor's ids (~half a million per slice): with the default
 * work_mem it spilled to temp files in batches.
 */
const SESSION_SETTINGS = `SET DateStyle = 'ISO, YMD'; SET max_parallel_workers_per_gather = 0; SET work_mem = '64MB'`;

function sliceCondition(slice: { index: number; count: number }): string {
  // hashtext is int4: widen before abs() so -2^31 cannot overflow.
  return slice.count === 1
    ? 'TRUE'
    : `mod(abs(hashtext(ordem_id::text)::bigint), ${slice.count}) = ${slice.index}`;
}

function windowCondition(scope: Extract<ExtractScope, { mode: 'date-window' }>): string {
  return `data::date BETWEEN DATE '${scope.from}' AND DATE '${scope.to}'`;
}

/** `all`: every row of the slice. `date-window`: the slice's rows in the window. */
function mainQuery(relation: string, scope: ExtractScope, slice: { index: number; count: number }): string {
  if (scope.mode === 'all')
    return `SELECT ${SELECT_LIST} FROM ${relation}${slice.count === 1 ? '' : ` WHERE ${sliceCondition(slice)}`}`;
  return `SELECT ${SELECT_LIST} FROM ${relation} WHERE ${windowCondition(scope)} AND ${sliceCondition(slice)}`;
}

/**
 * `date-window`: the listed orders the window missed; "IS NOT TRUE" also keeps a listed row whose
 * data is NULL (a view may have one), and no row is both in the window and here.
 */
function listedQuery(relation: string, scope: Extract<ExtractScope, { mode: 'date-window' }>): string {
  return (
    `SELECT ${SELECT_LIST} FROM ${relation} ` +
    `WHERE ordem_id::text IN (SELECT ordem_id FROM pg_temp.recon_scope_ids) AND (${windowCondition(scope)}) IS NOT TRUE`
  );
}

/**
 * The rows of the scope as COPY text: the window (or every row) first, then (given the vendor's
 * ids) the listed orders out of the window. Those need the vendor's ids uploaded first (~1 s for
 * a million): a second connection uploads them and starts its query while the first one's rows
 * are already streaming.
 */
async function* streamText(
  url: string,
  name: string,
  relation: string,
  scope: ExtractScope,
  slice: { index: number; count: number },
): AsyncGenerator<Buffer> {
  const { client, target } = await openClient(url);
  let listed: Promise<Listed> | null = null;
  let step = `reading ${name}`;
  try {
    const exists = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
      relation,
    ]);
    if (exists.rows[0]?.found == null) {
      throw new ReconError(
        'BASE_UNAVAILABLE',
        `relation "${name}" does not exist in the database at ${target}: check the configured base relation`,
        { transient: false },
      );
    }
    if (scope.mode === 'date-window' && scope.ordemIds !== undefined) {
      listed = listedRows(url, relation, scope, scope.ordemIds);
      // Awaited below, once the window is read; until then a failure must not go unhandled.
      listed.catch(() => {});
    }
    await client.query(SESSION_SETTINGS);
    yield* wholeLines(client.query(copyTo(`COPY (${mainQuery(relation, scope, slice)}) TO STDOUT`)));
    if (listed !== null) {
      step = 'loading the vendor ordem_ids into a temporary table';
      const { rows } = await listed;
      step = `reading ${name}`;
      yield* wholeLines(rows);
    }
  } catch (error) {
    throw extractError(error, target, name, step);
  } finally {
    // Also runs when the consumer stops early: pg destroys the socket of a client whose COPY is
    // still running, which makes the server abandon the query.
    await closeClient(client);
    if (listed !== null)
      await listed.then(
        (l) => closeClient(l.client),
        () => {},
      );
  }
}

interface Listed {
  client: pg.Client;
  /** The COPY of the listed orders out of the window, started (backpressure holds it). */
  rows: AsyncIterable<Buffer>;
}

/** On its own connection: uploads the vendor's ids, then starts the listed orders' COPY. */
async function listedRows(
  url: string,
  relation: string,
  scope: Extract<ExtractScope, { mode: 'date-window' }>,
  ordemIds: AsyncIterable<readonly string[]>,
): Promise<Listed> {
  const { client } = await openClient(url);
  try {
    await loadScopeIds(client, ordemIds);
    await client.query(SESSION_SETTINGS);
    const rows = client.query(copyTo(`COPY (${listedQuery(relation, scope)}) TO STDOUT`));
    return { client, rows: rows as AsyncIterable<Buffer> };
  } catch (error) {
    await closeClient(client);
    throw error;
  }
}

/**
 * A COPY TO STDOUT stream in chunks that end on a line break (the stream's own chunks end
 * anywhere). PostgreSQL ends every row with one: bytes left at the end are a truncated row.
 */
async function* wholeLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  for await (const chunk of stream) {
    const last = chunk.lastIndexOf(LF);
    if (last === -1) {
      carry = carry === null ? Buffer.from(chunk) : Buffer.concat([carry, chunk]);
      continue;
    }
    const lines = chunk.subarray(0, last + 1);
    yield carry === null ? lines : Buffer.concat([carry, lines]);
    carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : null;
  }
  if (carry !== null) {
    throw new Error(`COPY output ended inside a row: ${JSON.stringify(carry.toString('utf8', 0, 200))}`);
  }
}

const LF = 10;

/** COPY text chunks as batches of rows (NULL as null). */
async function* copyRows(chunks: AsyncIterable<Buffer>, batchSize: number): AsyncGenerator<RawBaseRow[]> {
  const parser = new CopyTextParser(6);
  let rows: (string | null)[][] = [];
  for await (const chunk of chunks) {
    parser.push(chunk, rows);
    if (rows.length >= batchSize) {
      let start = 0;
      for (; rows.length - start >= batchSize; start += batchSize) {
        yield rows.slice(start, start + batchSize) as RawBaseRow[];
      }
      rows = rows.slice(start);
    }
  }
  parser.end();
  if (rows.length > 0) yield rows as RawBaseRow[];
}

/** Streams the ids into a session temp table (COPY, never one giant IN list) and analyzes it. */
async function loadScopeIds(client: pg.Client, ordemIds: AsyncIterable<readonly string[]>): Promise<void> {
  await client.query('CREATE TEMP TABLE recon_scope_ids (ordem_id text)');
  let sourceError: unknown;
  async function* lines(): AsyncGenerator<string> {
    try {
      for await (const ids of ordemIds) {
        if (ids.length === 0) continue;
        // Ids needing no escape (nearly all) go as they are, joined.
        yield ids.some(needsEscape) ? `${ids.map(escapeCopyText).join('\n')}\n` : `${ids.join('\n')}\n`;
      }
    } catch (error) {
      sourceError = error;
      throw error;
    }
  }
  try {
    await pipeline(
      Readable.from(lines(), { objectMode: false }),
      client.query(copyFrom('COPY pg_temp.recon_scope_ids FROM STDIN')),
    );
  } catch (error) {
    if (sourceError !== undefined) throw new SourceError(sourceError);
    throw error;
  }
  // Temp tables are never auto-analyzed: without statistics the planner guesses the size of
  // the id list and may pick a poor join.
  await client.query('ANALYZE pg_temp.recon_scope_ids');
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const needsEscape = (id: string) => NEEDS_ESCAPE.test(id);

/** The caller's id iterable failed: its error is passed on unchanged. */
class SourceError extends Error {
  constructor(readonly error: unknown) {
    super('the ordemIds iterable failed');
  }
}

export function extractError(error: unknown, target: string, name: string, step: string): unknown {
  if (error instanceof SourceError) return error.error;
  if (error instanceof ReconError) return error;
  if (sqlState(error) === '42P01') {
    return new ReconError(
      'BASE_UNAVAILABLE',
      `relation "${name}" does not exist in the database at ${target}: ${(error as Error).message}`,
      { cause: error, transient: false },
    );
  }
  if (sqlState(error) === '42703' || sqlState(error) === '42883') {
    // A view without one of the six columns, or with a column of an unexpected type.
    return new ReconError(
      'BASE_UNAVAILABLE',
      `relation "${name}" at ${target} does not have the expected columns (fornecedor_id, ordem_id, nome, ativo_id, data date, valor numeric): ${(error as Error).message}`,
      { cause: error, transient: false },
    );
  }
  return baseUnavailable(target, step, error);
}
