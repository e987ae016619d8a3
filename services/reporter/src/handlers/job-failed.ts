import {
  type JobFailed,
  type JobSummary,
  keys,
  type ServiceContext,
  zeroPerSeveridade,
  zeroPerTipo,
} from '@recon/contracts';

/** A failed job still gets a `summary.json` (status FAILED/TIMEOUT, the reason) and no divergence files. */
export async function handleJobFailed(ctx: ServiceContext, msg: JobFailed): Promise<void> {
  const job = await ctx.jobs.getJob(msg.jobId);
  if (job === undefined) return;
  const facts = job.facts;
  const summary: JobSummary = {
    job_id: job.jobId,
    status: msg.status,
    file_sha256: typeof facts.file_sha256 === 'string' ? facts.file_sha256 : null,
    reference_date: job.request.referenceDate,
    total_lines: typeof facts.total_lines === 'number' ? facts.total_lines : 0,
    valid_lines: 0,
    invalid_lines: 0,
    base_rows: 0,
    matched: 0,
    divergences: zeroPerTipo(),
    by_severity: zeroPerSeveridade(),
    divergence_rate: 0,
    top_suppliers: [],
    stage_seconds: Object.fromEntries(
      Object.entries(job.stages).map(([s, span]) => [
        s,
        (Date.parse(span.finishedAt) - Date.parse(span.startedAt)) / 1000,
      ]),
    ),
    started_at: job.history[0]!.at,
    finished_at: ctx.clock.now().toISOString(),
    outputs: { summary: ctx.store.uri(keys.summary(job.jobId)) },
    error: { stage: msg.stage, code: msg.code, message: msg.message },
  };
  await ctx.store.put(keys.summary(job.jobId), `${JSON.stringify(summary, null, 2)}\n`);
}
