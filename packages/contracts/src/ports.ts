import type { DateWindow, Envelope, EventType, JobRequested } from './events.ts';
import type { ReportSink } from './read-model.ts';

/**
 * Ports: the small interfaces service logic depends on. Each runtime supplies adapters
 * (embedded: local folder, in-process bus, in-memory/PostgreSQL job store; distributed: S3, SQS, RDS).
 */

/** The bytes of an object: UTF-8 text, bytes, or bytes in parts (see ObjectStore.put). */
export type ObjectBody = Uint8Array | string | readonly Uint8Array[];

/** Whether an object's bytes come in parts. */
export function isParts(body: ObjectBody): body is readonly Uint8Array[] {
  return Array.isArray(body);
}

/** An object's bytes in one piece (its parts joined), for a store that takes one body. */
export function wholeBody(body: ObjectBody): Uint8Array | string {
  return isParts(body) ? Buffer.concat(body) : body;
}

/** A store of immutable objects addressed by key (a local folder, or an S3 bucket). */
export interface ObjectStore {
  /**
   * Writes an object whole. An array is the object's bytes in parts, one after another: a store
   * that can write them as they are (a file, by gathered writes) never joins them.
   */
  put(key: string, body: ObjectBody): Promise<void>;
  /** Writes a stream of bytes; large objects must not be buffered whole. */
  putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** Bytes [start, end) of the object. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  getStream(key: string): AsyncIterable<Uint8Array>;
  /** Size in bytes, or null when the object does not exist. */
  size(key: string): Promise<number | null>;
  list(prefix: string): Promise<string[]>;
  deletePrefix(prefix: string): Promise<void>;
  /** Where a person finds the object (a path, or an s3:// URI). */
  uri(key: string): string;
}

export interface EventPublisher {
  publish<T extends EventType>(type: T, id: string, payload: Envelope<T>['payload']): Promise<void>;
}

export const JOB_STATUSES = [
  'RECEIVED',
  'VALIDATING',
  'PARTITIONING',
  'MATCHING',
  'REPORTING',
  'SUCCEEDED',
  'FAILED',
  'TIMEOUT',
  'CANCELLED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** How a job ends without success. */
export type EndedStatus = 'FAILED' | 'TIMEOUT' | 'CANCELLED';
/** Statuses a job never leaves on its own (only a reprocess reopens FAILED, TIMEOUT, CANCELLED). */
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'];

export interface JobRecord {
  jobId: string;
  request: JobRequested;
  status: JobStatus;
  /** Status changes with their times (ISO), in order. */
  history: { status: JobStatus; at: string }[];
  /** Wall-clock span of each stage (ISO times): from its first unit's start to its last unit's end. */
  stages: Record<string, { startedAt: string; finishedAt: string }>;
  /** Facts recorded by the stages (file sha256, line totals…), merged as they come. */
  facts: Record<string, unknown>;
  error: { stage: string; code: string; message: string } | null;
}

/**
 * The job store. Fan-in is a *barrier*: a named set of units with an expected count. Completing a
 * unit and setting the expected count are atomic; exactly one call ever returns `true` (the one
 * that completed the barrier), however often units are redelivered.
 */
export interface JobStore {
  /** Creates the job; returns false (and changes nothing) when it already exists. */
  createJob(request: JobRequested, at: string): Promise<boolean>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  setStatus(jobId: string, status: JobStatus, at: string): Promise<void>;
  /** Widens the stage's span to cover [startedAt, finishedAt] (units of a stage run in parallel). */
  recordStageSpan(jobId: string, stage: string, startedAt: string, finishedAt: string): Promise<void>;
  mergeFacts(jobId: string, facts: Record<string, unknown>): Promise<void>;
  /**
   * Ends an open job (FAILED, TIMEOUT, or CANCELLED by an operator); returns false when it had
   * already ended (so the failure is announced once).
   */
  fail(jobId: string, status: EndedStatus, error: JobRecord['error'], at: string): Promise<boolean>;
  /**
   * Reprocess (RULES §7): moves a job that ended without success (FAILED, TIMEOUT, CANCELLED) back
   * to `status`, clears its error, and forgets the named barriers (their units, expected count and
   * fired flag) so they can fire again. False (nothing changed) when the job is unknown, still
   * open, or SUCCEEDED.
   */
  reopen(jobId: string, status: JobStatus, at: string, resetBarriers: readonly string[]): Promise<boolean>;
  /**
   * One job per reference date at a time (RULES §7): claims `referenceDate` for `jobId`. Returns
   * null when the claim holds (it was free, held by a job that ended, or already this job's), or
   * the id of the open job that holds it (the caller refuses: JOB_RUNNING).
   */
  claimReferenceDate(referenceDate: string, jobId: string, at: string): Promise<string | null>;
  /**
   * Idempotency (RULES §7): a job for the file with this SHA-256 that SUCCEEDED or is still open
   * (`JobRequested.fileSha256`, or the `file_sha256` fact ingest records), oldest first; undefined
   * when there is none. FAILED, TIMEOUT and CANCELLED jobs do not count.
   */
  findFileJob(sha256: string): Promise<{ jobId: string; status: JobStatus } | undefined>;
  setExpected(jobId: string, barrier: string, expected: number): Promise<boolean>;
  completeUnit(jobId: string, barrier: string, unit: string, data: unknown): Promise<boolean>;
  /** The data of every completed unit of a barrier, ordered by unit name. */
  listUnits<T>(jobId: string, barrier: string): Promise<{ unit: string; data: T }[]>;
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A base row as the database returns it: the six columns in canonical order, text or null. */
export type RawBaseRow = [
  fornecedor_id: string | null,
  ordem_id: string | null,
  nome: string | null,
  ativo_id: string | null,
  data: string | null,
  valor: string | null,
];

/**
 * RULES §5 as the database sees it: every row, or the window plus the vendor file's orders. Without
 * `ordemIds`, only the window: the orders it misses are looked up by id once the shards are matched
 * (`BaseReader.lookupOrders`).
 */
export type BaseExtractScope =
  | { mode: 'all' }
  | { mode: 'date-window'; from: string; to: string; ordemIds?: AsyncIterable<readonly string[]> };

/** The internal base when it is a database relation (PostgreSQL / RDS). */
export interface BaseReader {
  /**
   * The rows of `scope` in PostgreSQL COPY text format (`copy-text.ts`: the six columns in
   * canonical order — fornecedor_id, ordem_id, nome, ativo_id, data, valor — tab-separated, `\N`
   * for NULL, backslash escapes), as chunks of whole lines: the partition encodes most rows
   * straight from these bytes, with no string per field. With `slice`, only that slice of the rows
   * in the window (or of all rows), split by a hash of `ordem_id` — rows named by
   * `scope.ordemIds` come whatever the slice, so the caller gives each slice its own share of
   * those ids.
   */
  read(
    relation: string,
    scope: BaseExtractScope,
    slice?: { index: number; count: number },
  ): AsyncIterable<Uint8Array>;
  /**
   * Whether `relation` can have each vendor order the window missed looked up by id instead of
   * reading every order of the file out of the base: true when a unique index on a text
   * `ordem_id` holds it to one row per order (a view, or a table without one, is false).
   */
  ordersLookupable(relation: string): Promise<boolean>;
  /**
   * The rows of `relation` whose `ordem_id` is one of `ordemIds` and whose `data` lies outside
   * `window` (or is NULL): in the canonical column order, text or null, as `read` would give them.
   */
  lookupOrders(relation: string, ordemIds: readonly string[], window: DateWindow): Promise<RawBaseRow[]>;
}

/** What every handler receives: the ports of its process. */
export interface ServiceContext {
  store: ObjectStore;
  /** Where vendor files (and CSV base snapshots) arrive. */
  ingress: ObjectStore;
  jobs: JobStore;
  events: EventPublisher;
  clock: Clock;
  log: Logger;
  /** Present in processes configured with a database base. */
  base?: BaseReader;
  /** Present where the read model is configured (`recon serve`, the admin API's database). */
  reports?: ReportSink;
}
