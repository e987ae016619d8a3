import { setTimeout as delay } from 'node:timers/promises';
import {
  BARRIERS,
  type DateWindow,
  encodeShardResult,
  keys,
  type PartRef,
  ReconError,
  type RejectedLine,
  type ServiceContext,
  type ShardReady,
  type ShardUnit,
} from '@recon/contracts';
import { addBaseRow, baseRowEncoder, ShardWriter } from '@recon/rules';
import { matchShard } from '../classify.ts';
import { DEFAULT_SEVERITY, type SeverityPolicy } from '../severity.ts';

export interface MatcherOptions {
  severity: SeverityPolicy;
  /**
   * TEST ONLY: milliseconds each shard waits (after the first job check, before classifying), so a
   * test can make a job run past its deadline. 0 / unset in production.
   */
  testDelayMs?: number;
}

/** Matches one shard: reads both sides' slices, classifies, writes the result, joins the fan-in. */
export async function handleShardReady(
  ctx: ServiceContext,
  msg: ShardReady,
  options: MatcherOptions = { severity: DEFAULT_SEVERITY },
): Promise<void> {
  const startedAt = ctx.clock.now();
  // The slices are read while the job is checked: the checks and the reads overlap (a shard that
  // turns out to have no work left just drops its bytes).
  const reading = Promise.all([readRecords(ctx, msg.vendorParts), readRecords(ctx, msg.baseParts)]);
  reading.catch(() => {});
  const unitName = String(msg.shard).padStart(6, '0');
  const [job, done] = await Promise.all([
    ctx.jobs.getJob(msg.jobId),
    // A reprocessed job (resumed from its checkpoint) keeps the shards it had completed.
    ctx.jobs.listUnits<ShardUnit>(msg.jobId, BARRIERS.shards),
  ]);
  if (job?.status !== 'MATCHING') return;
  if (done.some((u) => u.unit === unitName)) {
    // In a reprocessed job every shard may be done while nobody moved the job on: a matcher of the
    // stopped run completed the last one (and fired the barrier) while the job was being reopened,
    // and the re-sent shards all find their unit done. Whoever sees it moves the job to the report.
    // (Otherwise the shard's first delivery did, and a duplicate copy has nothing to add.)
    const resumed = typeof job.facts.resumes === 'number' && job.facts.resumes > 0;
    if (resumed && done.length >= job.request.shardCount) await toReport(ctx, msg.jobId);
    return;
  }
  if ((options.testDelayMs ?? 0) > 0) {
    ctx.log.info({ shard: msg.shard, delay_ms: options.testDelayMs }, 'TEST ONLY: shard delayed');
    await delay(options.testDelayMs);
  }
  const [vendor, base] = await reading;
  const match = matchShard({
    jobId: msg.jobId,
    vendor,
    base,
    vendorBuckets: msg.vendorParts.map((p) => p.buckets),
    baseBuckets: msg.baseParts.map((p) => p.buckets),
    scope: msg.scope,
    window: msg.window,
    timestamp: startedAt.getTime(),
    severity: options.severity,
  });
  const found =
    msg.lookupMissing === true && msg.window !== null && job.request.base.kind === 'postgres'
      ? await lookUpUnmatched(
          ctx,
          job.request.base.relation,
          msg.window,
          match.unmatchedOrders(),
          match.regions,
        )
      : { lines: null, rejects: [], asked: 0, rows: 0 };
  const output = match.finish(found.lines, found.rejects);
  if (found.asked > 0) {
    ctx.log.info(
      { shard: msg.shard, asked: found.asked, found: found.rows, rejected: found.rejects.length },
      'unmatched orders looked up in the base by id (out of the window)',
    );
  }
  // The job may have timed out (or failed) while this shard was being classified: its work stops
  // (a result written meanwhile is not recorded; a reprocess writes it again).
  const resultKey = keys.shardResult(msg.jobId, msg.shard);
  const [matching] = await Promise.all([
    isMatching(ctx, msg.jobId),
    ctx.store.put(resultKey, encodeShardResult(output)),
  ]);
  if (!matching) return;
  const unit: ShardUnit = { shard: msg.shard, resultKey, counts: output.counts };
  // Both are recorded before the last shard moves the job on to the report.
  const [, fired] = await Promise.all([
    ctx.jobs.recordStageSpan(msg.jobId, 'matching', startedAt.toISOString(), ctx.clock.now().toISOString()),
    ctx.jobs.completeUnit(msg.jobId, BARRIERS.shards, unitName, unit),
  ]);
  if (fired) await toReport(ctx, msg.jobId);
}

/** All shards are done: the job goes to the reporter (if it is still matching; the event id dedups). */
async function toReport(ctx: ServiceContext, jobId: string): Promise<void> {
  if (!(await isMatching(ctx, jobId))) return;
  await ctx.jobs.setStatus(jobId, 'REPORTING', ctx.clock.now().toISOString());
  await ctx.events.publish('matching.completed', `matching.completed:${jobId}`, { jobId });
}

/** Only a job in MATCHING gets shard work: a job that ended (TIMEOUT, FAILED…) gets none. */
async function isMatching(ctx: ServiceContext, jobId: string): Promise<boolean> {
  const job = await ctx.jobs.getJob(jobId);
  return job !== undefined && job.status === 'MATCHING';
}

/** The slices' bytes, in order (the classifier works on the bytes). */
async function readRecords(ctx: ServiceContext, parts: readonly PartRef[]): Promise<Uint8Array[]> {
  return Promise.all(parts.map((p) => ctx.store.getRange(p.key, p.start, p.end)));
}

/**
 * The base rows of `ordemIds` out of the window (RULES §5: every base row of an order of the file
 * takes part), encoded as base lines in the shard's `regions` buckets, and the rows that broke a
 * rule. Asked in batches: a shard's unmatched orders are few (the day's TIPO_1 and moved dates),
 * but nothing bounds them.
 */
async function lookUpUnmatched(
  ctx: ServiceContext,
  relation: string,
  window: DateWindow,
  ordemIds: string[],
  regions: number,
): Promise<{ lines: Buffer[] | null; rejects: RejectedLine[]; asked: number; rows: number }> {
  const rejects: RejectedLine[] = [];
  const asked = ordemIds.length;
  if (asked === 0) return { lines: null, rejects, asked, rows: 0 };
  if (ctx.base === undefined) {
    throw new ReconError(
      'INVALID_CONFIG',
      'the base is a database relation but no database is configured for the matcher (DATABASE_URL)',
    );
  }
  const writer = new ShardWriter(1, 0, regions);
  const encoder = baseRowEncoder();
  let rows = 0;
  for (let at = 0; at < asked; at += LOOKUP_BATCH) {
    const batch = await ctx.base.lookupOrders(relation, ordemIds.slice(at, at + LOOKUP_BATCH), window);
    for (const row of batch) addBaseRow(row, encoder, writer, rejects);
    rows += batch.length;
  }
  // One shard: its buckets' buffers are the whole body.
  const lines = writer.size === 0 ? null : writer.take('lookup').body;
  return { lines, rejects, asked, rows };
}

/** Ids per lookup query (one array parameter). */
const LOOKUP_BATCH = 10_000;
