import { createHash } from 'node:crypto';
import {
  BARRIERS,
  baseSliceCount,
  FINAL_JOB_STATUSES,
  FileRejectedError,
  type JobRequested,
  keys,
  ReconError,
  type ServiceContext,
} from '@recon/contracts';
import { RecordBlockReader, storeRangeSource } from '@recon/rules';

/**
 * Records the job, validates the vendor file (RULES §2: empty, header, UTF-8) while streaming it
 * into chunks of whole records, and hands each chunk to the partition service as soon as it is
 * written. A CSV base (or any base when the scope is `all`) does not depend on the file, so its
 * extraction starts at once, in parallel.
 */
export async function handleJobRequested(ctx: ServiceContext, req: JobRequested): Promise<void> {
  const startedAt = ctx.clock.now().toISOString();
  if (!(await ctx.jobs.createJob(req, startedAt))) {
    const job = await ctx.jobs.getJob(req.jobId);
    // A redelivery: a job past partitioning (or ended) needs nothing more from ingest; one that
    // stopped mid-file (the process died) is ingested again — every step is idempotent
    // (deterministic chunk keys and event ids, barriers that count each unit once).
    if (job === undefined || !['RECEIVED', 'VALIDATING', 'PARTITIONING'].includes(job.status)) return;
  }
  const { jobId } = req;
  // One job per reference date at a time (RULES §7): refused, not queued (docs/rules-decisions.md).
  const holder = await ctx.jobs.claimReferenceDate(req.referenceDate, jobId, startedAt);
  if (holder !== null) {
    throw new ReconError(
      'JOB_RUNNING',
      `job ${holder} is already reconciling reference date ${req.referenceDate}; one job per date at a time — reprocess ${jobId} (recon reprocess ${jobId}) when ${holder} has ended`,
    );
  }
  await ctx.jobs.setStatus(jobId, 'VALIDATING', startedAt);
  await ctx.jobs.setExpected(jobId, BARRIERS.partition, 2);
  const slices = baseSliceCount(req);
  await ctx.jobs.setExpected(jobId, BARRIERS.base, slices);
  await ctx.jobs.setExpected(jobId, BARRIERS.shards, req.shardCount);
  if (req.base.kind === 'csv' || req.scope === 'all') {
    // A CSV snapshot's slices are byte ranges only known once it is read: one request splits it
    // and publishes each slice with its range.
    const requests = req.base.kind === 'csv' ? 1 : slices;
    for (let index = 0; index < requests; index++) {
      await ctx.events.publish('base.extract-requested', `base.extract-requested:${jobId}:${index}`, {
        jobId,
        source: req.base,
        slice: { index, count: slices },
        scope: req.scope,
        window: null,
        shardCount: req.shardCount,
        ...(req.shardBuckets === undefined ? {} : { shardBuckets: req.shardBuckets }),
        vendorParts: [],
      });
    }
  }

  const sha256 = createHash('sha256');
  const reader = new RecordBlockReader({
    label: ctx.ingress.uri(req.file.key),
    blockBytes: req.chunkBytes,
    onBytes: (bytes) => sha256.update(bytes),
  });
  let chunks = 0;
  // Each chunk is stored and announced while the next block is read and checked: the chunk before
  // is awaited before another one is handed on, so at most one is in flight, in order.
  let handing: Promise<void> = Promise.resolve();
  let failed = false;
  try {
    for await (const block of reader.blocksOf(await storeRangeSource(ctx.ingress, req.file.key))) {
      // A job stopped meanwhile (deadline, cancel) gets no more chunks.
      if (chunks > 0 && !(await isOpen(ctx, jobId))) return;
      const index = chunks++;
      const previous = handing;
      handing = (async () => {
        await previous;
        const key = keys.chunk(jobId, 'vendor', index);
        await ctx.store.put(key, block.bytes);
        await ctx.events.publish('chunk.written', `chunk.written:${jobId}:vendor:${index}`, {
          jobId,
          side: 'vendor',
          index,
          key,
          firstLine: block.firstLine,
          columnOrder: reader.columnOrder!,
          shardCount: req.shardCount,
          ...(req.shardBuckets === undefined ? {} : { shardBuckets: req.shardBuckets }),
        });
        if (index === 0) await ctx.jobs.setStatus(jobId, 'PARTITIONING', ctx.clock.now().toISOString());
      })();
      // Its failure surfaces at the next await of it (below, or in the finally).
      handing.catch(() => {});
      await previous;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // Nothing is left running when the handler ends, whichever way it ends; a chunk's failure
    // fails the handler (unless it already fails, e.g. on a rejected file: that error is kept).
    if (failed) await handing.catch(() => {});
    else await handing;
  }
  if (reader.records === 0) {
    throw new FileRejectedError(
      'FILE_HEADER_ONLY',
      `${ctx.ingress.uri(req.file.key)}: the file has a header but no data lines; nothing to reconcile.`,
    );
  }
  await ctx.jobs.mergeFacts(jobId, {
    file_sha256: sha256.digest('hex'),
    total_lines: reader.records,
    file_bytes: reader.bytes,
    vendor_chunks: chunks,
  });
  await ctx.jobs.recordStageSpan(jobId, 'ingest', startedAt, ctx.clock.now().toISOString());
  if (await ctx.jobs.setExpected(jobId, BARRIERS.vendorChunks, chunks)) {
    await ctx.events.publish('partition.side-completed', `partition.side-completed:${jobId}:vendor`, {
      jobId,
      side: 'vendor',
    });
  }
}

async function isOpen(ctx: ServiceContext, jobId: string): Promise<boolean> {
  const job = await ctx.jobs.getJob(jobId);
  return job !== undefined && !FINAL_JOB_STATUSES.includes(job.status);
}
