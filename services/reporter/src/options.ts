import type { JobRecord, JobSummary } from '@recon/contracts';
import type { BiRefresh } from './bi-refresh.ts';
import { type AlertPolicy, DEFAULT_ALERTS } from './summary.ts';

/** The reporter's options; a module of its own so a runtime can read them without loading Parquet. */
export interface ReporterOptions {
  /** The BI refresh after a report (Glue partition + QuickSight ingestion in AWS); none embedded. */
  biRefresh?: BiRefresh;
  /** Called with the written summary (e.g. CloudWatch EMF metrics in AWS). */
  onReported?: (summary: JobSummary, job: JobRecord) => void | Promise<void>;
  /** Rows per Parquet file; more rows give `<job_id>-part-N.parquet` files. */
  rowsPerFile: number;
  /**
   * How many reporters may write parts of one report at once (the embedded runtime's worker
   * threads): a report of enough rows is then written as that many Parquet files, in parallel
   * (`report.part-requested`). Unset or 1: one reporter writes every file.
   */
  reportParts?: number;
  /**
   * Bytes of shard results a reporter keeps in memory after reading them for the output order
   * (default DEFAULT_HELD_RESULT_BYTES). The others are read again by each part, which copies out
   * only its own rows: a report's memory is bounded by its parts, not by the day.
   */
  heldResultBytes?: number;
  /** Keep the job's intermediate objects (chunks, parts, shard results) after success. */
  keepWork: boolean;
  alerts: AlertPolicy;
}

/** 64 MiB: the results of a 1M-line day (~32 MB) are read once. */
export const DEFAULT_HELD_RESULT_BYTES = 64 << 20;

export const DEFAULT_REPORTER_OPTIONS: ReporterOptions = {
  rowsPerFile: 250_000,
  keepWork: false,
  alerts: DEFAULT_ALERTS,
};
