import { createHash } from 'node:crypto';
import {
  BARRIERS,
  baseSliceCount,
  FileRejectedError,
  type JobRequested,
  keys,
  type ServiceContext,
} from '@recon/contracts';
import { RecordBlockReader } from '@recon/rules';

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
  await ctx.jobs.setStatus(jobId, 'VALIDATING', startedAt);
  await ctx.jobs.setExpected(jobId, BARRIERS.partition, 2);
  const slices = baseSliceCount(req);
  await ctx.jobs.setExpected(jobId, BARRIERS.base, slices);
  await ctx.jobs.setExpected(jobId, BARRIERS.shards, req.shardCount);
  if (req.base.kind === 'csv' || req.scope === 'all') {
    for (let index = 0; index < slices; index++) {
      await ctx.events.publish('base.extract-requested', `base.extract-requested:${jobId}:${index}`, {
        jobId,
        source: req.base,
        slice: { index, count: slices },
        scope: req.scope,
        window: null,
        shardCount: req.shardCount,
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
  for await (const block of reader.blocks(ctx.ingress.getStream(req.file.key))) {
    const key = keys.chunk(jobId, 'vendor', chunks);
    await ctx.store.put(key, block.bytes);
    await ctx.events.publish('chunk.written', `chunk.written:${jobId}:vendor:${chunks}`, {
      jobId,
      side: 'vendor',
      index: chunks,
      key,
      firstLine: block.firstLine,
      columnOrder: reader.columnOrder!,
      shardCount: req.shardCount,
    });
    if (chunks === 0) await ctx.jobs.setStatus(jobId, 'PARTITIONING', ctx.clock.now().toISOString());
    chunks++;
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
