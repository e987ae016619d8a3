import {
  BARRIERS,
  type BaseUnit,
  baseSliceCount,
  type DateWindow,
  type JobRecord,
  type PartInfo,
  type PartRef,
  type ServiceContext,
  type Side,
  type VendorChunkUnit,
} from '@recon/contracts';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED']);

/** A job that failed, timed out or was cancelled gets no more work (late or redelivered messages). */
export async function isJobOpen(ctx: ServiceContext, jobId: string): Promise<boolean> {
  const job = await ctx.jobs.getJob(jobId);
  return job !== undefined && !TERMINAL.has(job.status);
}

export async function requireJob(ctx: ServiceContext, jobId: string): Promise<JobRecord> {
  const job = await ctx.jobs.getJob(jobId);
  if (job === undefined) throw new Error(`job ${jobId} is not in the job store`);
  return job;
}

/** RULES §5: [min(data), max(data)] over the vendor lines that parsed; null when there are none. */
export function vendorWindow(units: readonly VendorChunkUnit[]): DateWindow | null {
  let from: string | null = null;
  let to: string | null = null;
  for (const u of units) {
    if (u.minData !== null && (from === null || u.minData < from)) from = u.minData;
    if (u.maxData !== null && (to === null || u.maxData > to)) to = u.maxData;
  }
  return from === null || to === null ? null : { from, to };
}

/** The slice of each part that holds `shard` (with its buckets' sizes), skipping empty ones. */
export function shardSlices(parts: readonly PartInfo[], shard: number): PartRef[] {
  const out: PartRef[] = [];
  for (const p of parts) {
    const b = p.buckets ?? 1;
    const start = p.offsets[shard * b]!;
    const end = p.offsets[(shard + 1) * b]!;
    if (end <= start) continue;
    if (b === 1) {
      out.push({ key: p.key, start, end });
      continue;
    }
    const buckets: number[] = [];
    for (let k = 0; k < b; k++) buckets.push(p.offsets[shard * b + k + 1]! - p.offsets[shard * b + k]!);
    out.push({ key: p.key, start, end, buckets });
  }
  return out;
}

/** Once both sides are partitioned, every shard goes to the matchers. */
export async function handleSideCompleted(
  ctx: ServiceContext,
  msg: { jobId: string; side: Side },
): Promise<void> {
  if (!(await isJobOpen(ctx, msg.jobId))) return;
  const job = await requireJob(ctx, msg.jobId);
  const req = job.request;
  const vendor = (await ctx.jobs.listUnits<VendorChunkUnit>(msg.jobId, BARRIERS.vendorChunks)).map(
    (u) => u.data,
  );
  if (msg.side === 'vendor' && req.base.kind === 'postgres' && req.scope === 'date-window') {
    // The database extraction needs the vendor window and the vendor's orders (RULES §5). When
    // the relation has one row per order by a unique index, the slices read the window only and
    // each matcher looks up the few orders its shard's window lacks (one index probe each, instead
    // of every order of the file joined against the whole base). Otherwise each slice brings the
    // orders of its own group of vendor shards, so every order is asked once.
    const count = baseSliceCount(req);
    const window = vendorWindow(vendor);
    const lookupMissing =
      window !== null && ctx.base !== undefined && (await ctx.base.ordersLookupable(req.base.relation));
    const parts = vendor.map((u) => u.part);
    for (let index = 0; index < count; index++) {
      const vendorParts: PartRef[] = [];
      if (!lookupMissing) {
        for (let shard = index; shard < req.shardCount; shard += count)
          vendorParts.push(...shardSlices(parts, shard));
      }
      await ctx.events.publish('base.extract-requested', `base.extract-requested:${msg.jobId}:${index}`, {
        jobId: msg.jobId,
        source: req.base,
        slice: { index, count },
        scope: req.scope,
        window,
        shardCount: req.shardCount,
        ...(req.shardBuckets === undefined ? {} : { shardBuckets: req.shardBuckets }),
        vendorParts,
        ...(lookupMissing ? { lookupMissing } : {}),
      });
    }
  }
  if (!(await ctx.jobs.completeUnit(msg.jobId, BARRIERS.partition, msg.side, null))) return;

  const baseUnits = (await ctx.jobs.listUnits<BaseUnit>(msg.jobId, BARRIERS.base)).map((u) => u.data);
  if (baseUnits.length === 0) throw new Error(`job ${msg.jobId}: partition completed without a base unit`);
  const baseParts = baseUnits.flatMap((u) => u.parts);
  // Every slice read the window only, or none did (they were all asked the same).
  const lookupMissing = baseUnits.some((u) => u.lookupMissing === true);
  if (lookupMissing && !baseUnits.every((u) => u.lookupMissing === true))
    throw new Error(`job ${msg.jobId}: some base slices read the window only and others did not`);
  const window = vendorWindow(vendor);
  const vendorParts = vendor.map((u) => u.part);
  await ctx.jobs.mergeFacts(msg.jobId, { window });
  await ctx.jobs.setStatus(msg.jobId, 'MATCHING', ctx.clock.now().toISOString());
  // A reprocessed job sends its shards again under new ids: a message of the stopped run, still in
  // flight, is recorded as handled (without work) and must not make the new one a duplicate.
  const run =
    typeof job.facts.resumes === 'number' && job.facts.resumes > 0 ? `:resume-${job.facts.resumes}` : '';
  // Published at once (the in-process bus keeps their order): the first matchers start while the
  // rest are still being sent, and no shard waits on the round trips of the ones before it.
  const published: Promise<void>[] = [];
  for (let shard = 0; shard < req.shardCount; shard++) {
    published.push(
      ctx.events.publish('shard.ready', `shard.ready:${msg.jobId}:${shard}${run}`, {
        jobId: msg.jobId,
        shard,
        shardCount: req.shardCount,
        scope: req.scope,
        window,
        vendorParts: shardSlices(vendorParts, shard),
        baseParts: shardSlices(baseParts, shard),
        ...(lookupMissing ? { lookupMissing } : {}),
      }),
    );
  }
  await Promise.all(published);
}
