import {
  BARRIERS,
  encodeShardResult,
  keys,
  type PartRef,
  type ServiceContext,
  type ShardReady,
  type ShardUnit,
} from '@recon/contracts';
import { classifyShard } from '../classify.ts';
import { DEFAULT_SEVERITY, type SeverityPolicy } from '../severity.ts';

export interface MatcherOptions {
  severity: SeverityPolicy;
}

/** Matches one shard: reads both sides' slices, classifies, writes the result, joins the fan-in. */
export async function handleShardReady(
  ctx: ServiceContext,
  msg: ShardReady,
  options: MatcherOptions = { severity: DEFAULT_SEVERITY },
): Promise<void> {
  const job = await ctx.jobs.getJob(msg.jobId);
  if (job === undefined || job.status !== 'MATCHING') return;
  const startedAt = ctx.clock.now();
  const [vendor, base] = await Promise.all([
    readRecords(ctx, msg.vendorParts),
    readRecords(ctx, msg.baseParts),
  ]);
  const output = classifyShard({
    jobId: msg.jobId,
    vendor,
    base,
    binary: true,
    scope: msg.scope,
    window: msg.window,
    timestamp: startedAt.getTime(),
    severity: options.severity,
  });
  const resultKey = keys.shardResult(msg.jobId, msg.shard);
  await ctx.store.put(resultKey, encodeShardResult(output));
  const unit: ShardUnit = { shard: msg.shard, resultKey, counts: output.counts };
  await ctx.jobs.recordStageSpan(
    msg.jobId,
    'matching',
    startedAt.toISOString(),
    ctx.clock.now().toISOString(),
  );
  if (await ctx.jobs.completeUnit(msg.jobId, BARRIERS.shards, String(msg.shard).padStart(6, '0'), unit)) {
    await ctx.jobs.setStatus(msg.jobId, 'REPORTING', ctx.clock.now().toISOString());
    await ctx.events.publish('matching.completed', `matching.completed:${msg.jobId}`, { jobId: msg.jobId });
  }
}

/** The slices as one latin1 text (a byte copy; see `ShardInput.binary`). */
async function readRecords(ctx: ServiceContext, parts: readonly PartRef[]): Promise<string[]> {
  const bytes = await Promise.all(parts.map((p) => ctx.store.getRange(p.key, p.start, p.end)));
  return [Buffer.concat(bytes).toString('latin1')];
}
