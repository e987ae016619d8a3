import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type DashboardStats,
  DIVERGENCE_ITEM_COLUMNS,
  type DivergenceFilter,
  type DivergenceItem,
  type DivergencePage,
  type JobSummary,
  ReconError,
  type ReportSink,
  SEVERIDADES,
  type Severidade,
  TIPOS,
  type TipoDivergencia,
  zeroPerSeveridade,
  zeroPerTipo,
} from '@recon/contracts';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type MigrationSet, migrateToLatest } from '../job-store/migrate.ts';
import { describeTarget, isTransient, sqlState } from '../postgres/connection.ts';
import { READ_MODEL_MIGRATIONS } from './migrations/index.ts';

export const READ_MODEL_MIGRATION_SET: MigrationSet = {
  name: 'read model',
  migrations: READ_MODEL_MIGRATIONS,
  table: 'read_model_migration',
  lockTable: 'read_model_migration_lock',
  advisoryLock: 7_302_114_862_519_042n,
};

export const DIVERGENCE_PAGE_SIZE = 100;
/** The trend of the dashboard: this many days, ending at the period's last day. */
export const DAILY_SERIES_DAYS = 30;

/** The columns COPY receives, in DIVERGENCE_ITEM_COLUMNS order (plus seq, which load adds). */
const COPY_COLUMNS = DIVERGENCE_ITEM_COLUMNS.map((c) => (c === 'timestamp' ? '"timestamp"' : c)).join(', ');

/** SELECT list giving DivergenceItem fields as text where JSON needs text (dates, money, ISO time). */
const ITEM_SELECT = `d.job_id, d.dt::text AS dt, d.tipo_divergencia, d.severidade, d.ordem_id, d.fornecedor_id,
  d.nome, d.ativo_id, d.data::text AS data, d.data_base::text AS data_base, d.valor_csv::text AS valor_csv,
  d.valor_base::text AS valor_base, d.diferenca::text AS diferenca, d.campo, d.detalhes, d.hash_linha,
  d.linha_arquivo, to_char(d."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "timestamp", d.seq`;

/** Each reference date's current job: its latest SUCCEEDED job (a forced rerun replaces the earlier). */
const CURRENT_JOBS = `SELECT DISTINCT ON (dt) job_id, dt, total_lines, distinct_orders, divergent_orders
  FROM recon_job_reports WHERE status = 'SUCCEEDED' ORDER BY dt, finished_at DESC, job_id DESC`;

interface Where {
  /** Conditions on the job reports `r` (which jobs are in scope). */
  jobs: string[];
  /** Conditions on the divergence rows `d`. */
  rows: string[];
  params: unknown[];
  /** Whether any row-level filter is set (then job-level aggregates cannot answer). */
  rowFilters: boolean;
  /** The parameters of `jobs` alone (they come first), for queries on the scope only. */
  jobParams: unknown[];
}

function whereOf(filter: DivergenceFilter): Where {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const jobs: string[] = [];
  const rows: string[] = [];
  if (filter.jobId !== undefined) jobs.push(`r.job_id = ${p(filter.jobId)}`);
  if (filter.dtFrom !== undefined) jobs.push(`r.dt >= ${p(filter.dtFrom)}::date`);
  if (filter.dtTo !== undefined) jobs.push(`r.dt <= ${p(filter.dtTo)}::date`);
  const jobParams = [...params];
  if (filter.tipos !== undefined && filter.tipos.length > 0)
    rows.push(`d.tipo_divergencia = ANY(${p([...filter.tipos])}::text[])`);
  if (filter.severidades !== undefined && filter.severidades.length > 0)
    rows.push(`d.severidade = ANY(${p([...filter.severidades])}::text[])`);
  if (filter.fornecedorId !== undefined) rows.push(`d.fornecedor_id = ${p(filter.fornecedorId)}`);
  if (filter.ordemId !== undefined) rows.push(`d.ordem_id = ${p(filter.ordemId)}`);
  return { jobs, rows, params, rowFilters: rows.length > 0, jobParams };
}

/** The jobs in scope as a CTE `scope`: the named job, else the current job of each date. */
function scopeCte(filter: DivergenceFilter, w: Where): string {
  const source =
    filter.jobId !== undefined
      ? `SELECT job_id, dt, total_lines, distinct_orders, divergent_orders FROM recon_job_reports`
      : CURRENT_JOBS;
  const cond = w.jobs.length > 0 ? `WHERE ${w.jobs.join(' AND ')}` : '';
  return `scope AS (SELECT r.* FROM (${source}) r ${cond})`;
}

function rowsCond(w: Where): string {
  return w.rows.length > 0 ? `AND ${w.rows.join(' AND ')}` : '';
}

interface Cursor {
  dt: string;
  jobId: string;
  seq: number;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.dt, c.jobId, c.seq]), 'utf8').toString('base64url');
}

function decodeCursor(s: string): Cursor {
  try {
    const [dt, jobId, seq] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown[];
    if (typeof dt === 'string' && typeof jobId === 'string' && Number.isInteger(seq))
      return { dt, jobId, seq: seq as number };
  } catch {
    // fall through
  }
  throw new ReconError('INVALID_ARGUMENT', `cursor ${JSON.stringify(s)} is not one this API gave out`);
}

type Row = Record<string, unknown>;

function toItem(r: Row): DivergenceItem {
  return {
    job_id: r.job_id as string,
    dt: r.dt as string,
    tipo_divergencia: r.tipo_divergencia as TipoDivergencia,
    severidade: r.severidade as Severidade,
    ordem_id: r.ordem_id as string,
    fornecedor_id: r.fornecedor_id as string,
    nome: r.nome as string,
    ativo_id: r.ativo_id as string,
    data: r.data as string,
    data_base: (r.data_base as string | null) ?? null,
    valor_csv: (r.valor_csv as string | null) ?? null,
    valor_base: (r.valor_base as string | null) ?? null,
    diferenca: (r.diferenca as string | null) ?? null,
    campo: (r.campo as string | null) ?? null,
    detalhes: r.detalhes as string,
    hash_linha: r.hash_linha as string,
    linha_arquivo: (r.linha_arquivo as number | null) ?? null,
    timestamp: r.timestamp as string,
  };
}

const rate = (num: number, den: number) => (den === 0 ? 0 : num / den);

/**
 * The read model in PostgreSQL: the reporter loads each finished job (ReportSink); the admin
 * API pages, filters, exports and aggregates it. One pool; `close` ends it.
 */
export class PostgresReadModel implements ReportSink {
  readonly pool: pg.Pool;
  private readonly target: string;

  constructor(url: string, options: { poolSize?: number } = {}) {
    this.target = describeTarget(url);
    this.pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 5 });
    // An idle client's error is emitted on the pool: without a listener it would crash the process.
    this.pool.on('error', () => {});
  }

  /** Creates or upgrades the read model's tables; returns the migrations applied. */
  async migrate(): Promise<string[]> {
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: this.pool }) });
    // Not db.destroy(): that would end the shared pool.
    return migrateToLatest(db, READ_MODEL_MIGRATION_SET);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** A trivial query, for readiness checks. */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async load(summary: JobSummary, rows: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      const divergences = Object.values(summary.divergences).reduce((a, b) => a + b, 0);
      await client.query(
        `INSERT INTO recon_job_reports (job_id, dt, status, file_sha256, total_lines, valid_lines, invalid_lines,
           base_rows, matched, divergences, distinct_orders, divergent_orders, summary, started_at, finished_at, loaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now())
         ON CONFLICT (job_id) DO UPDATE SET dt = EXCLUDED.dt, status = EXCLUDED.status,
           file_sha256 = EXCLUDED.file_sha256, total_lines = EXCLUDED.total_lines, valid_lines = EXCLUDED.valid_lines,
           invalid_lines = EXCLUDED.invalid_lines, base_rows = EXCLUDED.base_rows, matched = EXCLUDED.matched,
           divergences = EXCLUDED.divergences, distinct_orders = EXCLUDED.distinct_orders,
           divergent_orders = EXCLUDED.divergent_orders, summary = EXCLUDED.summary,
           started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, loaded_at = now()`,
        [
          summary.job_id,
          summary.reference_date,
          summary.status,
          summary.file_sha256,
          summary.total_lines,
          summary.valid_lines,
          summary.invalid_lines,
          summary.base_rows,
          summary.matched,
          divergences,
          summary.distinct_orders ?? 0,
          summary.divergent_orders ?? 0,
          JSON.stringify(summary),
          summary.started_at,
          summary.finished_at,
        ],
      );
      await client.query('DELETE FROM recon_divergences WHERE job_id = $1', [summary.job_id]);
      const copy = client.query(copyFrom(`COPY recon_divergences (seq, ${COPY_COLUMNS}) FROM STDIN`));
      try {
        await pipeline(Readable.from(rows), copy);
      } catch (error) {
        if (sqlState(error) !== '23505') throw error;
        throw new ReconError(
          'INTERNAL',
          `read model: the rows given for job ${summary.job_id} collide with rows already loaded (${error instanceof Error ? error.message : String(error)}): rows of another job?`,
          { cause: error },
        );
      }
      const copied = Number((copy as unknown as { rowCount: number }).rowCount);
      const { rows: own } = await client.query(
        'SELECT count(*) AS n FROM recon_divergences WHERE job_id = $1',
        [summary.job_id],
      );
      const loaded = Number(own[0]?.n ?? 0);
      if (copied !== loaded) {
        throw new ReconError(
          'INTERNAL',
          `read model: ${copied - loaded} of the ${copied} rows given for job ${summary.job_id} belong to another job`,
        );
      }
      if (loaded !== divergences) {
        throw new ReconError(
          'INTERNAL',
          `read model: job ${summary.job_id} has ${divergences} divergences in its summary but ${loaded} rows were loaded`,
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      // A connection whose COPY failed may still hold the failure's tail: never reuse it.
      client.release(true);
      throw this.wrap('loading a job into the read model', error);
    }
    client.release();
  }

  /**
   * Retention (technical document §10.5: data is kept 2 years, as the output bucket's lifecycle
   * keeps the Parquet): removes every job loaded more than `days` days ago, with its divergences.
   * Returns the ids removed. A day reconciled again is loaded again, and kept from then on.
   */
  async prune(days: number): Promise<string[]> {
    if (!(Number.isInteger(days) && days > 0)) {
      throw new ReconError(
        'INVALID_CONFIG',
        `read model retention: ${days} days; expected a whole number above 0`,
      );
    }
    const rows = await this.query(
      'DELETE FROM recon_job_reports WHERE loaded_at < now() - make_interval(days => $1) RETURNING job_id',
      [days],
    );
    return rows.map((r) => r.job_id as string).sort();
  }

  /** One page of divergences, newest reference date first, then the Parquet order. */
  async divergences(
    filter: DivergenceFilter,
    at: { page?: number; cursor?: string; pageSize?: number; withTotal?: boolean } = {},
  ): Promise<DivergencePage> {
    const pageSize = at.pageSize ?? DIVERGENCE_PAGE_SIZE;
    const w = whereOf(filter);
    const params = [...w.params];
    let after = '';
    if (at.cursor !== undefined) {
      const c = decodeCursor(at.cursor);
      params.push(c.dt, c.jobId, c.seq);
      const n = params.length;
      after = `AND (d.dt < $${n - 2}::date OR (d.dt = $${n - 2}::date AND (d.job_id, d.seq) > ($${n - 1}, $${n})))`;
    }
    const page = at.cursor === undefined ? Math.max(1, at.page ?? 1) : null;
    const offset = page === null ? 0 : (page - 1) * pageSize;
    params.push(pageSize + 1, offset);
    const sql = `WITH ${scopeCte(filter, w)}
      SELECT ${ITEM_SELECT} FROM recon_divergences d JOIN scope s ON s.job_id = d.job_id
      WHERE true ${rowsCond(w)} ${after}
      ORDER BY d.dt DESC, d.job_id, d.seq LIMIT $${params.length - 1} OFFSET $${params.length}`;
    const [rows, total] = await Promise.all([
      this.query(sql, params),
      at.withTotal === false ? Promise.resolve(-1) : this.count(filter),
    ]);
    const more = rows.length > pageSize;
    const items = rows.slice(0, pageSize);
    const last = items[items.length - 1];
    return {
      items: items.map(toItem),
      page,
      page_size: pageSize,
      total,
      next_cursor:
        more && last !== undefined
          ? encodeCursor({ dt: last.dt as string, jobId: last.job_id as string, seq: last.seq as number })
          : null,
    };
  }

  /** How many divergences match. */
  async count(filter: DivergenceFilter): Promise<number> {
    const w = whereOf(filter);
    const rows = await this.query(
      `WITH ${scopeCte(filter, w)}
       SELECT count(*) AS n FROM recon_divergences d JOIN scope s ON s.job_id = d.job_id WHERE true ${rowsCond(w)}`,
      w.params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Every matching divergence, in page order, `batch` rows at a time (keyset: never OFFSET). */
  async *stream(filter: DivergenceFilter, batch = 5_000): AsyncGenerator<DivergenceItem[]> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.divergences(filter, {
        ...(cursor === undefined ? { page: 1 } : { cursor }),
        pageSize: batch,
        withTotal: false,
      });
      if (page.items.length > 0) yield page.items;
      if (page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }

  /** The dashboard's KPIs and series (docs/admin-api.md, DashboardStats). */
  async stats(filter: DivergenceFilter): Promise<DashboardStats> {
    const w = whereOf(filter);
    const scope = scopeCte(filter, w);
    const join = `FROM recon_divergences d JOIN scope s ON s.job_id = d.job_id WHERE true ${rowsCond(w)}`;
    const [jobs, byType, bySev, top] = await Promise.all([
      this.query(
        `WITH ${scope} SELECT count(*) AS jobs, coalesce(sum(total_lines), 0) AS lines,
           coalesce(sum(distinct_orders), 0) AS orders, coalesce(sum(divergent_orders), 0) AS divergent,
           max(dt)::text AS last_dt FROM scope`,
        w.jobParams,
      ),
      this.query(`WITH ${scope} SELECT d.tipo_divergencia AS k, count(*) AS n ${join} GROUP BY 1`, w.params),
      this.query(`WITH ${scope} SELECT d.severidade AS k, count(*) AS n ${join} GROUP BY 1`, w.params),
      this.query(
        `WITH ${scope} SELECT d.fornecedor_id AS k, count(*) AS n ${join} GROUP BY 1 ORDER BY 2 DESC, d.fornecedor_id COLLATE "C" LIMIT 10`,
        w.params,
      ),
    ]);
    const j = jobs[0]!;
    const byTypeOut = zeroPerTipo();
    for (const r of byType)
      if ((TIPOS as readonly string[]).includes(r.k as string))
        byTypeOut[r.k as TipoDivergencia] = Number(r.n);
    const bySevOut = zeroPerSeveridade();
    for (const r of bySev)
      if ((SEVERIDADES as readonly string[]).includes(r.k as string))
        bySevOut[r.k as Severidade] = Number(r.n);
    const total = Object.values(byTypeOut).reduce((a, b) => a + b, 0);
    const orders = Number(j.orders);
    let divergent = Number(j.divergent);
    if (w.rowFilters) {
      const d = await this.query(
        `WITH ${scope} SELECT count(*) AS n FROM (SELECT DISTINCT d.job_id, d.ordem_id ${join}) x`,
        w.params,
      );
      divergent = Number(d[0]?.n ?? 0);
    }
    return {
      total_divergences: total,
      total_lines: Number(j.lines),
      divergence_rate: rate(divergent, orders),
      by_type: byTypeOut,
      by_severity: bySevOut,
      top_suppliers: top.map((r) => ({ fornecedor_id: r.k as string, count: Number(r.n) })),
      daily: j.last_dt === null ? [] : await this.daily(filter, j.last_dt as string),
      jobs: Number(j.jobs),
    };
  }

  /** The trend: per reference date of the 30 days ending at `lastDt`, oldest first. */
  private async daily(filter: DivergenceFilter, lastDt: string): Promise<DashboardStats['daily']> {
    const from = new Date(`${lastDt}T00:00:00Z`);
    from.setUTCDate(from.getUTCDate() - (DAILY_SERIES_DAYS - 1));
    const windowFilter: DivergenceFilter = {
      ...filter,
      dtFrom: maxDate(filter.dtFrom, from.toISOString().slice(0, 10)),
      dtTo: lastDt,
    };
    const w = whereOf(windowFilter);
    const scope = scopeCte(windowFilter, w);
    const divergentExpr = w.rowFilters ? 'count(DISTINCT d.ordem_id)' : 'NULL::bigint';
    const rows = await this.query(
      `WITH ${scope}, agg AS (
         SELECT d.job_id, count(*) AS n, ${divergentExpr} AS divergent
         FROM recon_divergences d JOIN scope s ON s.job_id = d.job_id WHERE true ${rowsCond(w)} GROUP BY d.job_id)
       SELECT s.dt::text AS dt, coalesce(agg.n, 0) AS n, s.total_lines, s.distinct_orders,
         coalesce(agg.divergent, ${w.rowFilters ? '0' : 's.divergent_orders'}) AS divergent
       FROM scope s LEFT JOIN agg ON agg.job_id = s.job_id ORDER BY s.dt`,
      w.params,
    );
    return rows.map((r) => ({
      dt: r.dt as string,
      divergences: Number(r.n),
      total_lines: Number(r.total_lines),
      divergence_rate: rate(Number(r.divergent), Number(r.distinct_orders)),
    }));
  }

  /** The report row of a job (its summary), or undefined. */
  async report(jobId: string): Promise<JobSummary | undefined> {
    const rows = await this.query('SELECT summary FROM recon_job_reports WHERE job_id = $1', [jobId]);
    return rows[0]?.summary as JobSummary | undefined;
  }

  async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(sql, params)).rows as Row[];
    } catch (error) {
      throw this.wrap('querying the read model', error);
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw this.wrap('connecting to the read model', error);
    }
  }

  private wrap(what: string, error: unknown): ReconError {
    if (error instanceof ReconError) return error;
    return new ReconError(
      'INTERNAL',
      `${what} at ${this.target} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, transient: isTransient(error) },
    );
  }
}

function maxDate(a: string | undefined, b: string): string {
  return a === undefined || a < b ? b : a;
}
