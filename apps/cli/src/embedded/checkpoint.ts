import {
  BARRIERS,
  type BaseUnit,
  type JobRecord,
  type JobRequested,
  type JobStore,
  type ObjectStore,
  type ShardUnit,
  type VendorChunkUnit,
} from '@recon/contracts';

/** Where a job's checkpoint lives in the object store. */
export const checkpointKey = (jobId: string) => `checkpoints/${jobId}/checkpoint.json`;

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
  status: 'TIMEOUT' | 'FAILED';
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
    /** The job's status when it stopped. */
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
  error_details: { error_type: string; message: string; stage: string };
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
  error: { error_type: string; message: string; stage: string },
  endTime: string,
): Promise<Checkpoint> {
  const jobId = job.jobId;
  const vendor = await jobs.listUnits<VendorChunkUnit>(jobId, BARRIERS.vendorChunks);
  const base = await jobs.listUnits<BaseUnit>(jobId, BARRIERS.base);
  const shards = await jobs.listUnits<ShardUnit>(jobId, BARRIERS.shards);
  const partitioned = vendor.reduce((n, u) => n + u.data.records, 0);
  const total = typeof job.facts.total_lines === 'number' ? job.facts.total_lines : partitioned;
  const invalid = vendor.reduce((n, u) => n + u.data.invalid, 0);
  const matched = shards.reduce((n, u) => n + u.data.counts.vendorValid + u.data.counts.vendorDuplicates, 0);
  const processed = Math.min(total, invalid + matched);
  const last = shards.reduce((m, u) => Math.max(m, u.data.shard), -1);
  return {
    job_id: jobId,
    start_time: job.history[0]?.at ?? job.request.arrivedAt,
    end_time: endTime,
    status: 'TIMEOUT',
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

/**
 * Rebuilds a job in a (fresh) job store from its checkpoint and says what to publish to resume:
 * - every shard done → the report (`matching.completed`, status REPORTING);
 * - both sides partitioned → status PARTITIONING with the vendor side marked done on the partition
 *   barrier; `partition.side-completed` (base) then sends every shard, and the matchers skip the
 *   completed ones;
 * - otherwise the job starts over from its request (ingest and partition are idempotent: same keys).
 */
export async function restoreFromCheckpoint(
  jobs: JobStore,
  cp: Checkpoint,
  at: string,
): Promise<'report' | 'match' | 'restart'> {
  const data = cp.intermediate_data;
  const req = data.request;
  const jobId = req.jobId;
  const vendorChunks = typeof data.facts.vendor_chunks === 'number' ? data.facts.vendor_chunks : null;
  const slices = req.base.kind === 'postgres' ? (req.baseSlices ?? 1) : 1;
  const vendorDone = vendorChunks !== null && data.units.vendor_chunks.length === vendorChunks;
  const baseDone = data.units.base.length === slices;
  if (!vendorDone || !baseDone) return 'restart';

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
  await jobs.setExpected(jobId, BARRIERS.base, slices);
  for (const u of data.units.shards) await jobs.completeUnit(jobId, BARRIERS.shards, u.unit, u.data);
  const allShards = await jobs.setExpected(jobId, BARRIERS.shards, req.shardCount);
  await jobs.setExpected(jobId, BARRIERS.partition, 2);
  if (allShards) {
    await jobs.completeUnit(jobId, BARRIERS.partition, 'vendor', null);
    await jobs.completeUnit(jobId, BARRIERS.partition, 'base', null);
    await jobs.setStatus(jobId, 'MATCHING', at);
    await jobs.setStatus(jobId, 'REPORTING', at);
    return 'report';
  }
  await jobs.completeUnit(jobId, BARRIERS.partition, 'vendor', null);
  return 'match';
}
