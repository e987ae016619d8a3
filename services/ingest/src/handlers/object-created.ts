import { createHash } from 'node:crypto';
import {
  DEFAULT_MAX_INVALID_RATE,
  isVendorFileKey,
  type JobRequested,
  type ObjectCreated,
  type Scope,
  type ServiceContext,
} from '@recon/contracts';
import { defaultShardBuckets, defaultShardCount, objectSha256, resolveReferenceDate } from '../request.ts';

/** What a job started by a file drop looks like: the request fields no event carries. */
export interface ObjectCreatedOptions {
  /** The base relation in PostgreSQL (the ingest/partition processes hold the connection). */
  baseRelation: string;
  scope: Scope;
  maxInvalidRate: number;
  /** Fixed shard count; default: from the file size (`defaultShardCount`). */
  shardCount?: number;
  chunkBytes: number;
}

export const DEFAULT_OBJECT_CREATED_OPTIONS: ObjectCreatedOptions = {
  baseRelation: 'transacoes',
  scope: 'date-window',
  maxInvalidRate: DEFAULT_MAX_INVALID_RATE,
  chunkBytes: 8 << 20,
};

/** Candidate ids tried before giving up (a collision of the 6-digit hash is ~1e-6 per pair of files). */
const MAX_PROBES = 100;

/**
 * A vendor file arrived in the ingress bucket: turn it into a job. The job id is deterministic
 * (`JOB-<arrival day>-<6 digits of sha256(bucket/key#etag#sequencer)>`, the next number when
 * another file already holds it), so a redelivered event requests the same job again, and the
 * `job.requested` event id is deterministic too: duplicates are absorbed downstream.
 * The reference date is the key's date folder (RULES §6); the arrival time is the event's time.
 *
 * Idempotency (RULES §7): the file is hashed (SHA-256, one streaming read) before its job is
 * requested; when a job for the same bytes already SUCCEEDED or is running, no job is started
 * (the log names it). The job is recorded here, with the hash in its request, so a second copy
 * arriving right behind this one finds it. A forced rerun goes through `job.requested` directly
 * (`recon reprocess`), never through here.
 */
export async function handleObjectCreated(
  ctx: ServiceContext,
  msg: ObjectCreated,
  options: ObjectCreatedOptions = DEFAULT_OBJECT_CREATED_OPTIONS,
): Promise<void> {
  const fields = { bucket: msg.bucket, key: msg.key, event_id: msg.eventId };
  if (!isVendorFileKey(msg.key)) {
    ctx.log.info(fields, 'object is not a vendor file (YYYY-MM-DD/<file>.csv): ignored');
    return;
  }
  const arrivedAt = new Date(msg.time);
  if (Number.isNaN(arrivedAt.getTime())) {
    ctx.log.warn(fields, `event time ${JSON.stringify(msg.time)} is not a time: using now`);
  }
  const at = Number.isNaN(arrivedAt.getTime()) ? ctx.clock.now() : arrivedAt;
  const jobId = await freeJobId(ctx, msg, at);
  if (jobId === null) {
    ctx.log.info(fields, 'this upload already has a job: nothing to do');
    return;
  }
  const fileSha256 = await objectSha256(ctx.ingress, msg.key);
  const earlier = await ctx.jobs.findFileJob(fileSha256);
  if (earlier !== undefined && earlier.jobId !== jobId) {
    ctx.log.info(
      { ...fields, file_sha256: fileSha256, reconciled_by: earlier.jobId, status: earlier.status },
      earlier.status === 'SUCCEEDED'
        ? `already reconciled: this file (same SHA-256) was reconciled by ${earlier.jobId}; no new job`
        : `already being reconciled: this file (same SHA-256) is job ${earlier.jobId} (${earlier.status}); no new job`,
    );
    return;
  }
  const shardCount = options.shardCount ?? defaultShardCount(msg.size, 0);
  const request: JobRequested = {
    jobId,
    file: { key: msg.key },
    base: { kind: 'postgres', relation: options.baseRelation },
    scope: options.scope,
    referenceDate: resolveReferenceDate(msg.key, undefined, at),
    arrivedAt: at.toISOString(),
    maxInvalidRate: options.maxInvalidRate,
    shardCount,
    shardBuckets: defaultShardBuckets(msg.size, 0, shardCount),
    chunkBytes: options.chunkBytes,
    fileSha256,
  };
  await ctx.jobs.createJob(request, ctx.clock.now().toISOString());
  ctx.log.info({ ...fields, job_id: jobId, file_sha256: fileSha256 }, 'file arrived: job requested');
  await ctx.events.publish('job.requested', `job.requested:${jobId}`, request);
}

/**
 * The job id for this upload. Returns null when the upload's job exists and is past RECEIVED
 * (a late redelivery); the same id when it exists but has not started (requesting it again is
 * harmless); the next free candidate when another file holds the hashed one.
 */
async function freeJobId(ctx: ServiceContext, msg: ObjectCreated, at: Date): Promise<string | null> {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '');
  const digest = createHash('sha256')
    .update(`${msg.bucket}/${msg.key}#${msg.etag ?? ''}#${msg.sequencer ?? ''}`)
    .digest();
  const start = digest.readUInt32BE(0) % 1_000_000;
  for (let probe = 0; probe < MAX_PROBES; probe++) {
    const n = (start + probe) % 1_000_000;
    const jobId = `JOB-${day}-${String(n).padStart(6, '0')}`;
    const job = await ctx.jobs.getJob(jobId);
    if (job === undefined) return jobId;
    const sameUpload = job.request.file.key === msg.key && job.request.arrivedAt === at.toISOString();
    if (sameUpload) return job.status === 'RECEIVED' ? jobId : null;
  }
  throw new Error(`no free job id for ${msg.bucket}/${msg.key} after ${MAX_PROBES} candidates`);
}
