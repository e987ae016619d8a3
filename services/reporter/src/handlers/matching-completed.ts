import {
  BARRIERS,
  type BaseUnit,
  type JobRecord,
  type JobSummary,
  keys,
  type MatchingCompleted,
  ReconError,
  type RejectedLine,
  type ReportPartRequested,
  type ServiceContext,
  type ShardUnit,
  type VendorChunkUnit,
} from '@recon/contracts';
import { scanRecords } from '@recon/rules';
import { rejectsCsv } from '../csv-writer.ts';
import { DEFAULT_HELD_RESULT_BYTES, DEFAULT_REPORTER_OPTIONS, type ReporterOptions } from '../options.ts';
import { encodeDivergenceColumnsParquet } from '../parquet.ts';
import { readModelRows, readShardResults, type ShardResults } from '../results.ts';
import type { ShardResult } from '../shard-result.ts';
import { buildSummary } from '../summary.ts';

export { DEFAULT_REPORTER_OPTIONS, type ReporterOptions } from '../options.ts';

/** Assembles the job's outputs: Parquet (sorted), rejects, summary; then announces the outcome. */
export async function handleMatchingCompleted(
  ctx: ServiceContext,
  msg: MatchingCompleted,
  options: ReporterOptions = DEFAULT_REPORTER_OPTIONS,
): Promise<void> {
  const job = await ctx.jobs.getJob(msg.jobId);
  if (job?.status === 'SUCCEEDED') {
    // A redelivery after the report was written but before it was announced (the process died in
    // between): announce it again. The event id is the same, so the notifier sends it once.
    const summary = job.facts.summary as JobSummary | undefined;
    if (summary !== undefined) {
      const rows = Object.values(summary.divergences).reduce((a, b) => a + b, 0);
      await announce(ctx, job.jobId, summary, rows);
    }
    return;
  }
  if (job === undefined || job.status !== 'REPORTING') return;
  const startedAt = ctx.clock.now().toISOString();
  const { jobId } = job;
  // The shards' row counts give the parts before any result is read: every part but the first
  // goes to whichever reporter is free at once; the last one written finishes the report.
  const shardUnits = await ctx.jobs.listUnits<ShardUnit>(jobId, BARRIERS.shards);
  const rows = shardUnits.reduce((n, u) => n + u.data.counts.rows, 0);
  const parts = partCount(rows, options);
  const parallel = (options.reportParts ?? 1) > 1 && parts > 1;
  if (parallel) {
    await ctx.jobs.setExpected(jobId, BARRIERS.reportParts, parts);
    for (let part = 2; part <= parts; part++) {
      await ctx.events.publish('report.part-requested', `report.part-requested:${jobId}:${parts}:${part}`, {
        jobId,
        part,
        parts,
      });
    }
  }
  const report = await loadReport(ctx, jobId, options, shardUnits);
  if (report === null) return;
  if (report.results.order.list.length !== rows) {
    throw new ReconError(
      'INTERNAL',
      `job ${jobId}: the shard results hold another row count than their units`,
    );
  }
  if (parallel) {
    await writeReportPart(ctx, job, report, 1, parts, options, startedAt);
    return;
  }
  for (let part = 1; part <= parts; part++) await writePart(ctx, job, report, part, parts);
  await finishReport(ctx, job, report, parts, options, startedAt);
}

/** Writes one part of a report written in parts (see `handleMatchingCompleted`). */
export async function handleReportPartRequested(
  ctx: ServiceContext,
  msg: ReportPartRequested,
  options: ReporterOptions = DEFAULT_REPORTER_OPTIONS,
): Promise<void> {
  const job = await ctx.jobs.getJob(msg.jobId);
  if (job === undefined || job.status !== 'REPORTING') return;
  const startedAt = ctx.clock.now().toISOString();
  const report = await loadReport(ctx, job.jobId, options);
  if (report === null) return;
  await writeReportPart(ctx, job, report, msg.part, msg.parts, options, startedAt);
}

/** What every part of a report is written from: the shards' results, as the matchers left them. */
interface LoadedReport {
  chunks: VendorChunkUnit[];
  baseUnits: BaseUnit[];
  shards: ShardUnit[];
  results: ShardResults;
}

/**
 * The shards' results, read for their merged order (see results.ts); null when the job stopped
 * reporting while they were read (timed out, failed): its work stops. `listed`: the shards'
 * units when the caller already listed them.
 */
async function loadReport(
  ctx: ServiceContext,
  jobId: string,
  options: ReporterOptions,
  listed?: { data: ShardUnit }[],
): Promise<LoadedReport | null> {
  const [chunkUnits, baseUnitList, shardUnits] = await Promise.all([
    ctx.jobs.listUnits<VendorChunkUnit>(jobId, BARRIERS.vendorChunks),
    ctx.jobs.listUnits<BaseUnit>(jobId, BARRIERS.base),
    listed ?? ctx.jobs.listUnits<ShardUnit>(jobId, BARRIERS.shards),
  ]);
  const shards = shardUnits.map((u) => u.data);
  const results = await readShardResults(
    ctx.store,
    shards.map((shard) => shard.resultKey),
    { heldBytes: options.heldResultBytes ?? DEFAULT_HELD_RESULT_BYTES },
  );
  if (!(await stillReporting(ctx, jobId))) return null;
  return {
    chunks: chunkUnits.map((u) => u.data),
    baseUnits: baseUnitList.map((u) => u.data),
    shards,
    results,
  };
}

/**
 * The report's Parquet files: as many as `rowsPerFile` asks, or one per reporter that may write a
 * part at once (`reportParts`) when each then gets at least MIN_ROWS_PER_PART rows.
 */
export function partCount(rows: number, options: ReporterOptions): number {
  const bySize = Math.max(1, Math.ceil(rows / options.rowsPerFile));
  const byCores = Math.min(options.reportParts ?? 1, Math.floor(rows / MIN_ROWS_PER_PART));
  return Math.max(bySize, byCores);
}

/** Below this many rows a part's encoding costs less than handing it to another reporter. */
const MIN_ROWS_PER_PART = 20_000;

/** Rows [from, to) of the output order that part `part` of `parts` holds: an even split. */
function partRows(part: number, parts: number, rows: number): { from: number; to: number } {
  return { from: Math.floor(((part - 1) * rows) / parts), to: Math.floor((part * rows) / parts) };
}

async function writePart(
  ctx: ServiceContext,
  job: JobRecord,
  report: LoadedReport,
  part: number,
  parts: number,
): Promise<void> {
  const { from, to } = partRows(part, parts, report.results.order.list.length);
  const key = keys.divergences(job.request.referenceDate, job.jobId, part, parts);
  const { sources, list, at } = await report.results.rows(from, to);
  await ctx.store.put(key, encodeDivergenceColumnsParquet(sources, list, at, 0, to - from));
}

/** Writes a part; the reporter that writes the last one finishes the report. */
async function writeReportPart(
  ctx: ServiceContext,
  job: JobRecord,
  report: LoadedReport,
  part: number,
  parts: number,
  options: ReporterOptions,
  startedAt: string,
): Promise<void> {
  await writePart(ctx, job, report, part, parts);
  if (!(await stillReporting(ctx, job.jobId))) return;
  await ctx.jobs.recordStageSpan(job.jobId, 'reporting', startedAt, ctx.clock.now().toISOString());
  const unit = `${String(parts).padStart(6, '0')}-${String(part).padStart(6, '0')}`;
  if (await ctx.jobs.completeUnit(job.jobId, BARRIERS.reportParts, unit, null)) {
    await finishReport(ctx, job, report, parts, options, startedAt);
  }
}

/** Rejects, summary, read model; then the job SUCCEEDED and is announced. */
async function finishReport(
  ctx: ServiceContext,
  job: JobRecord,
  report: LoadedReport,
  parts: number,
  options: ReporterOptions,
  startedAt: string,
): Promise<void> {
  const { jobId } = job;
  const { chunks, baseUnits, shards, results } = report;
  const rowCount = results.order.list.length;
  const rejects: RejectedLine[] = [];
  for (const chunk of chunks) {
    if (chunk.rejectsKey !== null) rejects.push(...(await readJson<RejectedLine[]>(ctx, chunk.rejectsKey)));
  }
  rejects.push(...(await withRawLines(ctx, chunks, results.vendorDuplicates)));
  rejects.sort((a, b) => a.linha - b.linha);
  const baseRejects: RejectedLine[] = [...results.baseDuplicates];
  for (const unit of baseUnits) {
    if (unit.rejectsKey !== null) baseRejects.push(...(await readJson<RejectedLine[]>(ctx, unit.rejectsKey)));
  }
  baseRejects.sort((a, b) => a.linha - b.linha);
  const parquetKeys = Array.from({ length: parts }, (_, k) =>
    keys.divergences(job.request.referenceDate, jobId, k + 1, parts),
  );
  await ctx.store.put(keys.rejectsCsv(jobId), rejectsCsv(rejects));
  const outputs: Record<string, string | string[]> = {
    divergences: parquetKeys.map((k) => ctx.store.uri(k)),
    rejects: ctx.store.uri(keys.rejectsCsv(jobId)),
    summary: ctx.store.uri(keys.summary(jobId)),
  };
  if (baseRejects.length > 0) {
    await ctx.store.put(keys.baseRejectsCsv(jobId), rejectsCsv(baseRejects));
    outputs.base_rejects = ctx.store.uri(keys.baseRejectsCsv(jobId));
  }

  if (!(await stillReporting(ctx, jobId))) return;
  const rejectsByReason: Record<string, number> = {};
  for (const r of rejects) rejectsByReason[r.motivo] = (rejectsByReason[r.motivo] ?? 0) + 1;
  const finishedAt = ctx.clock.now();
  await ctx.jobs.recordStageSpan(jobId, 'reporting', startedAt, finishedAt.toISOString());
  const { summary, alerts } = buildSummary({
    job: (await ctx.jobs.getJob(jobId))!,
    shards: shards.map((s) => s.counts),
    chunks,
    rejectsByReason,
    baseInvalid: baseRejects.length,
    finishedAt,
    outputs,
    alerts: options.alerts,
  });
  if (ctx.reports !== undefined) {
    // The read model (admin API, dashboard) gets the rows before the job is announced done.
    const loadStarted = performance.now();
    await ctx.reports.load(summary, readModelRows(results, job.request.referenceDate, options.rowsPerFile));
    ctx.log.info(
      { job_id: jobId, rows: rowCount, duration_ms: Math.round(performance.now() - loadStarted) },
      'read model loaded',
    );
  }
  await ctx.store.put(keys.summary(jobId), `${JSON.stringify(summary, null, 2)}\n`);
  await ctx.jobs.mergeFacts(jobId, { summary });
  await ctx.jobs.setStatus(jobId, 'SUCCEEDED', finishedAt.toISOString());
  if (!options.keepWork) await ctx.store.deletePrefix(keys.work(jobId));
  await refreshBi(ctx, options, jobId, summary.reference_date);
  if (options.onReported !== undefined) {
    const reported = await ctx.jobs.getJob(jobId);
    if (reported !== undefined) await options.onReported(summary, reported);
  }

  await announce(ctx, jobId, summary, rowCount);
  for (const alert of alerts) {
    await ctx.events.publish('alert.raised', `alert.raised:${jobId}:${alert.alert}`, { jobId, ...alert });
  }
}

async function stillReporting(ctx: ServiceContext, jobId: string): Promise<boolean> {
  return (await ctx.jobs.getJob(jobId))?.status === 'REPORTING';
}

function announce(
  ctx: ServiceContext,
  jobId: string,
  summary: JobSummary,
  divergences: number,
): Promise<void> {
  return ctx.events.publish('job.succeeded', `job.succeeded:${jobId}`, {
    jobId,
    referenceDate: summary.reference_date,
    summaryKey: keys.summary(jobId),
    totalLines: summary.total_lines,
    divergences,
    divergenceRate: summary.divergence_rate,
    durationSeconds: summary.stage_seconds.total ?? 0,
  });
}

async function readJson<T>(ctx: ServiceContext, key: string): Promise<T> {
  return JSON.parse(Buffer.from(await ctx.store.get(key)).toString('utf8')) as T;
}

/** Duplicate lines are found by the matchers, which only see normalized records: take the raw text from the chunk. */
async function withRawLines(
  ctx: ServiceContext,
  chunks: readonly VendorChunkUnit[],
  duplicates: ShardResult['vendorDuplicates'],
): Promise<RejectedLine[]> {
  if (duplicates.length === 0) return [];
  const wanted = new Map(duplicates.map((d) => [d.linha, d]));
  const ordered = [...chunks].sort((a, b) => a.firstLine - b.firstLine);
  const out: RejectedLine[] = [];
  for (let k = 0; k < ordered.length; k++) {
    const chunk = ordered[k]!;
    const next = ordered[k + 1]?.firstLine ?? Number.POSITIVE_INFINITY;
    if (!duplicates.some((d) => d.linha >= chunk.firstLine && d.linha < next)) continue;
    const text = Buffer.from(await ctx.store.get(chunk.chunkKey)).toString('utf8');
    scanRecords(text, chunk.firstLine, true, (_fields, linha, raw) => {
      const d = wanted.get(linha);
      if (d !== undefined) out.push({ ...d, conteudo: raw });
    });
  }
  if (out.length !== duplicates.length) {
    throw new Error(`found the raw text of ${out.length} of ${duplicates.length} duplicate lines`);
  }
  return out;
}

/**
 * The dashboard learns of the new day. A failed refresh is logged, not fatal: the Parquet and the
 * summary are written, and the next refresh (or an operator) picks the partition up.
 */
export async function refreshBi(
  ctx: ServiceContext,
  options: ReporterOptions,
  jobId: string,
  referenceDate: string,
) {
  if (options.biRefresh === undefined) return;
  try {
    // A fixed ingestion id: a redelivered message starts no second ingestion.
    const result = await options.biRefresh.refresh({ jobId, referenceDate, ingestionId: jobId });
    ctx.log.info({ job_id: jobId, ...result }, 'BI refreshed');
  } catch (error) {
    ctx.log.error(
      { job_id: jobId, err: error instanceof Error ? error.message : String(error) },
      'BI refresh failed',
    );
  }
}
