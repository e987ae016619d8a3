import {
  type AlertRaised,
  type JobRecord,
  type JobSummary,
  SEVERIDADES,
  type ShardCounts,
  TIPOS,
  zeroPerSeveridade,
  zeroPerTipo,
} from '@recon/contracts';

export interface AlertPolicy {
  /** RULES §7: processing time above this raises PROCESSING_TIME (HIGH). */
  processingSeconds: number;
  /** RULES §7: divergence rate above this raises DIVERGENCE_RATE (MEDIUM). */
  divergenceRate: number;
}

export const DEFAULT_ALERTS: AlertPolicy = { processingSeconds: 18 * 60, divergenceRate: 0.1 };

export interface SummaryInput {
  job: JobRecord;
  shards: readonly ShardCounts[];
  chunks: readonly { records: number; valid: number; invalid: number }[];
  rejectsByReason: Record<string, number>;
  baseInvalid: number;
  finishedAt: Date;
  outputs: JobSummary['outputs'];
  alerts: AlertPolicy;
}

/** Adds up the shards' and chunks' counts into the job summary; the line accounting must close. */
export function buildSummary(input: SummaryInput): {
  summary: JobSummary;
  alerts: Omit<AlertRaised, 'jobId'>[];
} {
  const { job, shards, chunks } = input;
  const sum = (f: (c: ShardCounts) => number) => shards.reduce((n, c) => n + f(c), 0);
  const totalLines = chunks.reduce((n, c) => n + c.records, 0);
  const parsedValid = chunks.reduce((n, c) => n + c.valid, 0);
  const validLines = sum((c) => c.vendorValid);
  const invalidLines = chunks.reduce((n, c) => n + c.invalid, 0) + sum((c) => c.vendorDuplicates);
  if (
    validLines + invalidLines !== totalLines ||
    parsedValid !== validLines + sum((c) => c.vendorDuplicates)
  ) {
    throw new Error(
      `job ${job.jobId}: line accounting does not close (total ${totalLines}, valid ${validLines}, invalid ${invalidLines})`,
    );
  }
  const factsTotal = job.facts.total_lines;
  if (typeof factsTotal === 'number' && factsTotal !== totalLines) {
    throw new Error(`job ${job.jobId}: ingest counted ${factsTotal} records but partition ${totalLines}`);
  }
  const divergences = zeroPerTipo();
  for (const t of TIPOS) divergences[t] = sum((c) => c.byType[t]);
  const bySeverity = zeroPerSeveridade();
  for (const v of SEVERIDADES) bySeverity[v] = sum((c) => c.bySeverity[v]);
  const suppliers = new Map<string, number>();
  for (const c of shards) {
    for (const [f, n] of Object.entries(c.bySupplier)) suppliers.set(f, (suppliers.get(f) ?? 0) + n);
  }
  const topSuppliers = [...suppliers.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, 10)
    .map(([fornecedor_id, count]) => ({ fornecedor_id, count }));
  const distinct = sum((c) => c.distinctOrders);
  const divergenceRate = distinct === 0 ? 0 : sum((c) => c.divergentOrders) / distinct;
  const startedAt = job.history[0]!.at;
  const stageSeconds: Record<string, number> = {};
  for (const [stage, span] of Object.entries(job.stages)) {
    stageSeconds[stage] = seconds(span.startedAt, span.finishedAt);
  }
  stageSeconds.total = seconds(startedAt, input.finishedAt.toISOString());

  const alerts: Omit<AlertRaised, 'jobId'>[] = [];
  const invalidRate = totalLines === 0 ? 0 : invalidLines / totalLines;
  const maxInvalid = job.request.maxInvalidRate;
  if (invalidRate > maxInvalid) {
    alerts.push({
      alert: 'ERROR_RATE',
      severity: 'CRITICAL',
      message: `taxa de linhas inválidas ${pct(invalidRate)} acima do máximo ${pct(maxInvalid)}`,
      value: invalidRate,
      threshold: maxInvalid,
    });
  }
  if (divergenceRate > input.alerts.divergenceRate) {
    alerts.push({
      alert: 'DIVERGENCE_RATE',
      severity: 'MEDIUM',
      message: `taxa de divergência ${pct(divergenceRate)} acima de ${pct(input.alerts.divergenceRate)}`,
      value: divergenceRate,
      threshold: input.alerts.divergenceRate,
    });
  }
  const processing = seconds(job.request.arrivedAt, input.finishedAt.toISOString());
  if (processing > input.alerts.processingSeconds) {
    alerts.push({
      alert: 'PROCESSING_TIME',
      severity: 'HIGH',
      message: `processamento levou ${processing.toFixed(0)} s, acima de ${input.alerts.processingSeconds} s`,
      value: processing,
      threshold: input.alerts.processingSeconds,
    });
  }

  const summary: JobSummary = {
    job_id: job.jobId,
    status: 'SUCCEEDED',
    file_sha256: typeof job.facts.file_sha256 === 'string' ? job.facts.file_sha256 : null,
    reference_date: job.request.referenceDate,
    total_lines: totalLines,
    valid_lines: validLines,
    invalid_lines: invalidLines,
    base_rows: sum((c) => c.baseInScope),
    matched: sum((c) => c.matched),
    divergences,
    by_severity: bySeverity,
    divergence_rate: divergenceRate,
    top_suppliers: topSuppliers,
    stage_seconds: stageSeconds,
    started_at: startedAt,
    finished_at: input.finishedAt.toISOString(),
    outputs: input.outputs,
    scope: job.request.scope,
    window: (job.facts.window as JobSummary['window']) ?? null,
    rejects_by_reason: input.rejectsByReason,
    base_invalid_rows: input.baseInvalid,
    alerts: alerts.map(({ alert, severity, message }) => ({ alert, severity, message })),
    distinct_orders: distinct,
    divergent_orders: sum((c) => c.divergentOrders),
  };
  return { summary, alerts };
}

function seconds(from: string, to: string): number {
  return Math.round(Date.parse(to) - Date.parse(from)) / 1000;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}
