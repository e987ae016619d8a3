import type { DivergenceRow, Severidade, TipoDivergencia } from './divergence.ts';
import type { JobRecord, JobStatus } from './ports.ts';
import { SHARD_TEXT_COLUMNS } from './shard-result.ts';
import type { JobSummary } from './summary.ts';

/**
 * The read model: each job's divergences and aggregates, loaded into PostgreSQL by the reporter
 * beside the Parquet, so the admin API and the dashboard filter, page and aggregate server-side.
 * Shapes follow docs/admin-api.md.
 */

/** Technical document §10.5: data is kept 2 years (the read model's default retention, in days). */
export const READ_MODEL_RETENTION_DAYS = 730;

/**
 * One divergence as the API returns it: the RULES §6 row (DivergenceRow) plus the job's reference
 * date `dt`, with `timestamp` as ISO 8601 (UTC, ms). Money stays exact decimal text ("1234.50").
 */
export type DivergenceItem = Omit<DivergenceRow, 'timestamp' | 'campo'> & {
  dt: string;
  campo: string | null;
  timestamp: string;
};

/** The columns of DivergenceItem in the read model's (and the CSV export's) order. */
export const DIVERGENCE_ITEM_COLUMNS = [
  'job_id',
  'dt',
  ...SHARD_TEXT_COLUMNS.filter((c) => c !== 'job_id'),
  'linha_arquivo',
  'timestamp',
] as const satisfies readonly (keyof DivergenceItem)[];

/** Filters of /v1/divergences, /v1/divergences.csv and /v1/stats (all optional, ANDed). */
export interface DivergenceFilter {
  jobId?: string;
  /** Reference dates, inclusive, YYYY-MM-DD. */
  dtFrom?: string;
  dtTo?: string;
  tipos?: readonly TipoDivergencia[];
  severidades?: readonly Severidade[];
  fornecedorId?: string;
  ordemId?: string;
}

export interface DivergencePage {
  items: DivergenceItem[];
  page: number | null;
  page_size: number;
  total: number;
  /** Opaque; pass as `cursor` for the rows after this page. Null on the last page. */
  next_cursor: string | null;
}

export interface DashboardStats {
  total_divergences: number;
  total_lines: number;
  divergence_rate: number;
  by_type: Record<TipoDivergencia, number>;
  by_severity: Record<Severidade, number>;
  top_suppliers: { fornecedor_id: string; count: number }[];
  daily: { dt: string; divergences: number; total_lines: number; divergence_rate: number }[];
  jobs: number;
}

export interface JobListFilter {
  /** Reference dates, inclusive. */
  dtFrom?: string;
  dtTo?: string;
  status?: JobStatus;
  offset: number;
  limit: number;
}

/** Job listing (the admin API's GET /v1/jobs), newest first. */
export interface JobQueries {
  listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; total: number }>;
}

/**
 * Where the reporter loads a finished job (the read model). `load` replaces whatever the job had
 * (a redelivered report loads the same rows again, never twice). `rows` is PostgreSQL COPY text
 * (tab-separated, `\N` for null), in chunks, one line per divergence: `seq` (0, 1, … in the
 * Parquet order) followed by DIVERGENCE_ITEM_COLUMNS.
 */
export interface ReportSink {
  load(summary: JobSummary, rows: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void>;
}
