import { ReconError } from './errors.ts';
import type { JobRequested } from './events.ts';
import {
  type EventPublisher,
  FINAL_JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type ObjectStore,
} from './ports.ts';
import { BARRIERS, type BaseUnit, baseSliceCount, type ShardUnit, type VendorChunkUnit } from './units.ts';

/**
 * Job control (RULES §7, technical document §2.6): the checkpoint of a job, and how a job that
 * stopped resumes from it. One home for both runtimes: the embedded runtime (apps/cli) and the
 * distributed services (packages/runtime-distributed) write the same checkpoint and resume the
 * same way.
 */

/** Where a job's checkpoint lives in the object store. */
export const checkpointKey = (jobId: string) => `checkpoints/${jobId}/checkpoint.json`;

/**
 * `status` of a checkpoint: how the job stopped (TIMEOUT, CANCELLED, FAILED), or IN_PROGRESS for
 * a progress checkpoint written while the job ran (at stage boundaries and every few shards), so
 * that a process killed mid-job can be resumed (`recon reprocess`). IN_PROGRESS is not a job
 * status; the job's status when the checkpoint was written is `intermediate_data.stopped_in`.
 */
export type CheckpointStatus = 'TIMEOUT' | 'FAILED' | 'CANCELLED' | 'IN_PROGRESS';

/**
 * The checkpoint of a job that stopped before its end (technical document §2.6). Beside the
 * document's fields, `intermediate_data` carries what a reprocess needs to resume: the job request,
 * the facts recorded so far and the data of every completed barrier unit (vendor chunks, base
 * slices, shards); the objects they name stay under `work/<job_id>/`.
 */
export interface Checkpoint {
  job_id: string;
  start_time: string;
  end_time: string;
  status: CheckpointStatus;
  progress: {
    total_lines: number;
    processed_lines: number;
    pending_lines: number;
    /** The last shard whose matching completed (`shard-NNNN`), or null. */
    last_processed_partition: string | null;
  };
  checkpoint_location: string;
  intermediate_data: {
    request: JobRequested;
    /** The job's status when it stopped (or, IN_PROGRESS, when the checkpoint was written). */
    stopped_in: string;
    facts: Record<string, unknown>;
    stages: JobRecord['stages'];
    work_prefix: string;
    units: {
      vendor_chunks: { unit: string; data: VendorChunkUnit }[];
      base: { unit: string; data: BaseUnit }[];
      shards: { unit: string; data: ShardUnit }[];
    };
  };
  /** Why the job stopped; null in an IN_PROGRESS checkpoint. */
  error_details: { error_type: string; message: string; stage: string } | null;
}

/**
 * Vendor lines of the job whose outcome is final: rejected at partition, or reconciled (or found
 * duplicate) by a completed shard; at most `total`. The checkpoint's progress and the admin API's.
 */
export function processedVendorLines(
  vendor: readonly { data: VendorChunkUnit }[],
  shards: readonly { data: ShardUnit }[],
  total: number,
): number {
  const invalid = vendor.reduce((n, u) => n + u.data.invalid, 0);
  const matched = shards.reduce((n, u) => n + u.data.counts.vendorValid + u.data.counts.vendorDuplicates, 0);
  return Math.min(total, invalid + matched);
}

/**
 * Builds the checkpoint from the job store. Lines: `total_lines` the vendor file's records (known
 * once ingest read the whole file, else those partitioned so far); `processed_lines` the lines whose
 * outcome is final — rejected at partition, or reconciled (or found duplicate) by a completed shard.
 */
export async function buildCheckpoint(
  jobs: JobStore,
  store: ObjectStore,
  job: JobRecord,
  stoppedIn: string,
  status: CheckpointStatus,
  error: Checkpoint['error_details'],
  endTime: string,
): Promise<Checkpoint> {
  const jobId = job.jobId;
  const vendor = await jobs.listUnits<VendorChunkUnit>(jobId, BARRIERS.vendorChunks);
  const base = await jobs.listUnits<BaseUnit>(jobId, BARRIERS.base);
  const shards = await jobs.listUnits<ShardUnit>(jobId, BARRIERS.shards);
  const partitioned = vendor.reduce((n, u) => n + u.data.records, 0);
  const total = typeof job.facts.total_lines === 'number' ? job.facts.total_lines : partitioned;
  const processed = processedVendorLines(vendor, shards, total);
  const last = shards.reduce((m, u) => Math.max(m, u.data.shard), -1);
  return {
    job_id: jobId,
    start_time: job.history[0]?.at ?? job.request.arrivedAt,
    end_time: endTime,
    status,
    progress: {
      total_lines: total,
      processed_lines: processed,
      pending_lines: total - processed,
      last_processed_partition: last < 0 ? null : `shard-${String(last).padStart(4, '0')}`,
    },
    checkpoint_location: store.uri(checkpointKey(jobId)),
    intermediate_data: {
      request: job.request,
      stopped_in: stoppedIn,
      facts: job.facts,
      stages: job.stages,
      work_prefix: `work/${jobId}/`,
      units: { vendor_chunks: vendor, base, shards },
    },
    error_details: error,
  };
}

/** Writes the checkpoint to `checkpoints/<job_id>/checkpoint.json`; returns its key. */
export async function writeCheckpoint(store: ObjectStore, checkpoint: Checkpoint): Promise<string> {
  const key = checkpointKey(checkpoint.job_id);
  await store.put(key, `${JSON.stringify(checkpoint, null, 2)}\n`);
  return key;
}

/** Reads a job's checkpoint; undefined when there is none. */
export async function readCheckpoint(store: ObjectStore, jobId: string): Promise<Checkpoint | undefined> {
  const key = checkpointKey(jobId);
  if ((await store.size(key)) === null) return undefined;
  return JSON.parse(Buffer.from(await store.get(key)).toString('utf8')) as Checkpoint;
}

/** What a job stopped by job control needs: its store, the job store, where job.failed goes. */
export interface JobControlPorts {
  jobs: JobStore;
  store: ObjectStore;
  events: EventPublisher;
  now: () => Date;
}

export interface StopReason {
  status: 'TIMEOUT' | 'CANCELLED';
  /** DEADLINE_EXCEEDED, CANCELLED. */
  code: string;
  /** The message, given the job as it was when it stopped (its status names the stage). */
  message: (job: JobRecord) => string;
}

/**
 * Stops an open job (the deadline passed, or an operator cancelled it): the job ends with
 * `reason.status` (once: `JobStore.fail` is true for one caller only), its checkpoint is written,
 * and `job.failed` (with the checkpoint's key) is published — to the reporter (a summary with that
 * status) and the notifier. Handlers stop because the job is no longer open. Returns false when
 * the job is unknown or had already ended.
 */
export async function stopJob(ports: JobControlPorts, jobId: string, reason: StopReason): Promise<boolean> {
  const before = await ports.jobs.getJob(jobId);
  if (before === undefined || FINAL_JOB_STATUSES.includes(before.status)) return false;
  const stage = before.status.toLowerCase();
  const message = reason.message(before);
  const at = ports.now().toISOString();
  if (!(await ports.jobs.fail(jobId, reason.status, { stage, code: reason.code, message }, at))) return false;
  const job = (await ports.jobs.getJob(jobId)) ?? before;
  const checkpoint = await buildCheckpoint(
    ports.jobs,
    ports.store,
    job,
    before.status,
    reason.status,
    { error_type: reason.status, message, stage },
    at,
  );
  const key = await writeCheckpoint(ports.store, checkpoint);
  await ports.events.publish('job.failed', `job.failed:${jobId}`, {
    jobId,
    status: reason.status,
    stage,
    code: reason.code,
    message,
    checkpointKey: key,
  });
  return true;
}

/** The message of a job stopped at its deadline. */
export function deadlineMessage(deadlineMs: number, arrivedAt: string, status: string): string {
  const minutes = Math.round((deadlineMs / 60_000) * 100) / 100;
  return `the job passed its deadline (${minutes} min after the file arrived at ${arrivedAt}) while ${status}; work stopped, checkpoint written`;
}

/**
 * How a stopped job resumes:
 * - `report`: every shard is done → the report (`matching.completed`, status REPORTING);
 * - `match`: both sides are partitioned → `partition.side-completed` (base) fires the partition
 *   barrier again, which sends every shard; the matchers skip the completed ones;
 * - `restart`: ingest or partition had not finished → the job starts over from its request, under
 *   the same job id (ingest and partition are idempotent: same keys).
 */
export type ResumeMode = 'report' | 'match' | 'restart';

function resumeModeOf(
  request: JobRequested,
  facts: Record<string, unknown>,
  vendorUnits: number,
  baseUnits: number,
  shardUnits: number,
): ResumeMode {
  const vendorChunks = typeof facts.vendor_chunks === 'number' ? facts.vendor_chunks : null;
  const vendorDone = vendorChunks !== null && vendorUnits === vendorChunks;
  const baseDone = baseUnits === baseSliceCount(request);
  if (!vendorDone || !baseDone) return 'restart';
  return shardUnits >= request.shardCount ? 'report' : 'match';
}

/** Where resuming starts, and what the job's state must be made for it (see ResumeMode). */
const RESUME_STATUS: Record<ResumeMode, JobStatus> = {
  report: 'REPORTING',
  match: 'PARTITIONING',
  restart: 'RECEIVED',
};

/**
 * Resumes a job that stopped (TIMEOUT, CANCELLED, FAILED, or a process killed mid-job) and
 * publishes what starts the pending work (see ResumeMode). Two cases:
 *
 * - the job store does not hold the job (a one-shot `recon reprocess`: a fresh in-memory store):
 *   it is rebuilt from `checkpoint` — request, facts, stage spans, every completed unit;
 * - the job store holds it (PostgreSQL: the distributed runtime, `recon serve`): the store's own
 *   state is the truth; the job is reopened (`JobStore.reopen`), forgetting the barriers that must
 *   fire again. `checkpoint` may then be undefined.
 *
 * `facts` are merged into the job's (e.g. a new `deadline_at`). Returns the mode; throws
 * (INVALID_ARGUMENT) when the job cannot be resumed.
 */
export async function resumeJob(
  ports: { jobs: JobStore; events: EventPublisher },
  jobId: string,
  checkpoint: Checkpoint | undefined,
  at: string,
  facts: Record<string, unknown> = {},
): Promise<ResumeMode> {
  const { jobs, events } = ports;
  const existing = await jobs.getJob(jobId);
  let mode: ResumeMode;
  let request: JobRequested;
  if (existing === undefined) {
    if (checkpoint === undefined)
      throw resumeError(`job ${jobId} is neither in the job store nor checkpointed`);
    request = checkpoint.intermediate_data.request;
    mode = await restoreFromCheckpoint(jobs, checkpoint, at);
  } else {
    request = existing.request;
    const [vendor, base, shards] = await Promise.all([
      jobs.listUnits(jobId, BARRIERS.vendorChunks),
      jobs.listUnits(jobId, BARRIERS.base),
      jobs.listUnits(jobId, BARRIERS.shards),
    ]);
    mode = resumeModeOf(request, existing.facts, vendor.length, base.length, shards.length);
    // The new facts (a reprocess's own deadline, the count of resumes that gives re-sent shards
    // new message ids) land before the job reopens: a message still in flight must not find it
    // open with its old, passed deadline.
    const resumes = (typeof existing.facts.resumes === 'number' ? existing.facts.resumes : 0) + 1;
    await jobs.mergeFacts(jobId, { ...facts, resumes });
    const reset =
      mode === 'restart'
        ? Object.values(BARRIERS)
        : mode === 'match'
          ? [BARRIERS.partition, BARRIERS.reportParts]
          : [BARRIERS.reportParts];
    if (!(await jobs.reopen(jobId, RESUME_STATUS[mode], at, reset))) {
      throw resumeError(
        `job ${jobId} is ${existing.status}: only a job that ended FAILED, TIMEOUT or CANCELLED can be reprocessed${existing.status === 'SUCCEEDED' ? ' (it already SUCCEEDED; to reconcile the file again, run it with --force)' : ' (it is still running)'}`,
      );
    }
    if (mode === 'match') {
      await jobs.setExpected(jobId, BARRIERS.partition, 2);
      await jobs.completeUnit(jobId, BARRIERS.partition, 'vendor', null);
    }
  }
  // Rebuilt from the checkpoint (a restart from a fresh store has no job yet: ingest records it).
  if (existing === undefined && Object.keys(facts).length > 0 && (await jobs.getJob(jobId)) !== undefined)
    await jobs.mergeFacts(jobId, facts);
  if (mode === 'restart') await events.publish('job.requested', `job.requested:${jobId}`, request);
  else if (mode === 'report')
    await events.publish('matching.completed', `matching.completed:${jobId}`, { jobId });
  else
    await events.publish('partition.side-completed', `partition.side-completed:${jobId}:base`, {
      jobId,
      side: 'base',
    });
  return mode;
}

function resumeError(message: string): ReconError {
  return new ReconError('INVALID_ARGUMENT', message);
}

/**
 * Rebuilds a job in a fresh job store from its checkpoint and says how it resumes (ResumeMode):
 * `report` and `match` replay every completed unit (for `match` the vendor side is marked done on
 * the partition barrier, so `partition.side-completed` (base) fires it); `restart` records only the
 * request and facts.
 */
export async function restoreFromCheckpoint(jobs: JobStore, cp: Checkpoint, at: string): Promise<ResumeMode> {
  const data = cp.intermediate_data;
  const req = data.request;
  const jobId = req.jobId;
  const mode = resumeModeOf(
    req,
    data.facts,
    data.units.vendor_chunks.length,
    data.units.base.length,
    data.units.shards.length,
  );
  if (mode === 'restart') return mode;
  const vendorChunks = data.facts.vendor_chunks as number;
  await jobs.createJob(req, at);
  await jobs.setStatus(jobId, 'VALIDATING', at);
  await jobs.setStatus(jobId, 'PARTITIONING', at);
  await jobs.mergeFacts(jobId, data.facts);
  for (const [stage, span] of Object.entries(data.stages)) {
    await jobs.recordStageSpan(jobId, stage, span.startedAt, span.finishedAt);
  }
  for (const u of data.units.vendor_chunks)
    await jobs.completeUnit(jobId, BARRIERS.vendorChunks, u.unit, u.data);
  await jobs.setExpected(jobId, BARRIERS.vendorChunks, vendorChunks);
  for (const u of data.units.base) await jobs.completeUnit(jobId, BARRIERS.base, u.unit, u.data);
  await jobs.setExpected(jobId, BARRIERS.base, baseSliceCount(req));
  for (const u of data.units.shards) await jobs.completeUnit(jobId, BARRIERS.shards, u.unit, u.data);
  await jobs.setExpected(jobId, BARRIERS.shards, req.shardCount);
  await jobs.setExpected(jobId, BARRIERS.partition, 2);
  await jobs.completeUnit(jobId, BARRIERS.partition, 'vendor', null);
  if (mode === 'report') {
    await jobs.completeUnit(jobId, BARRIERS.partition, 'base', null);
    await jobs.setStatus(jobId, 'MATCHING', at);
    await jobs.setStatus(jobId, 'REPORTING', at);
  }
  return mode;
}

/**
 * RULES §7: a step (one message on one queue) that fails transiently (object store 5xx or
 * throttling, database connection lost, timeouts: `ReconError.transient`) is attempted again after
 * `delaysMs[k]` (k = retries so far), at most `maxAttempts` times in all, and never when the retry
 * would start past the job's deadline. Permanent failures (bad input) are not retried. The same in
 * both runtimes (embedded: timers; distributed: the SQS message's visibility).
 */
export interface RetryPolicy {
  delaysMs: readonly number[];
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  delaysMs: [30_000, 60_000, 120_000, 240_000],
  maxAttempts: 3,
};

/** One retry, as recorded in the job's facts (`facts.retries`). */
export interface RetryRecord {
  stage: string;
  event: string;
  event_id: string;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  delay_ms: number;
  code: string;
  message: string;
  at: string;
}
