import type { JobRecord, JobRequested, JobStatus } from '@recon/contracts';
import type { ColumnType, Generated } from 'kysely';

/** The job store's tables as kysely sees them (the schema itself is in migrations/). */
export interface JobStoreDatabase {
  jobs: JobsTable;
  job_status_history: JobStatusHistoryTable;
  job_stage_spans: JobStageSpansTable;
  job_barriers: JobBarriersTable;
  job_barrier_units: JobBarrierUnitsTable;
  processed_messages: ProcessedMessagesTable;
  job_date_locks: JobDateLocksTable;
}

/** timestamptz: read as a Date, written as an ISO string. */
type Timestamp = ColumnType<Date, string, string>;
/** jsonb: read parsed (by pg), written as JSON text (pg would turn a JS array into a Postgres array). */
type Json<T> = ColumnType<T, string, string>;

export interface JobsTable {
  id: string;
  request: Json<JobRequested>;
  status: JobStatus;
  error: ColumnType<JobRecord['error'], string | null, string | null>;
  facts: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
}

export interface JobStatusHistoryTable {
  /** bigint identity: pg returns it as a string. */
  seq: Generated<string>;
  job_id: string;
  status: JobStatus;
  at: Timestamp;
}

export interface JobStageSpansTable {
  job_id: string;
  stage: string;
  started_at: Timestamp;
  finished_at: Timestamp;
}

export interface JobBarriersTable {
  job_id: string;
  name: string;
  /** Null until someone sets the expected count. */
  expected: ColumnType<number | null, number | undefined, number>;
  fired: Generated<boolean>;
  fired_at: ColumnType<Date | null, never, string>;
}

export interface JobBarrierUnitsTable {
  job_id: string;
  barrier: string;
  unit: string;
  data: Json<unknown>;
  completed_at: ColumnType<Date, never, never>;
}

export interface ProcessedMessagesTable {
  key: string;
  processed_at: ColumnType<Date, never, never>;
}

/** One job per reference date (migration 20261123090000_job_control). */
export interface JobDateLocksTable {
  reference_date: string;
  job_id: string;
  claimed_at: Timestamp;
}
