import { type JobSummary, ReconError, TIPOS } from '@recon/contracts';
import { Counter, Gauge, Registry } from 'prom-client';

/** CloudWatch namespace of the technical document §10.2 (`Reconciliation.TotalLines`, …). */
export const METRIC_NAMESPACE = 'Reconciliation';

/** CloudWatch units used here (a subset of the EMF/CloudWatch unit list). */
export type MetricUnit = 'Count' | 'Seconds' | 'Count/Second' | 'Percent';

/**
 * The metrics of the technical document §10.2 (and `DivergenceRate`, which the runbook §2.5 queries):
 * their CloudWatch unit and dimensions, and their Prometheus name (Prometheus names cannot hold a dot,
 * and carry their unit as a suffix).
 */
export const METRICS = {
  TotalLines: {
    unit: 'Count',
    dimensions: ['job_id'],
    prometheus: 'reconciliation_total_lines',
    help: 'Reconciliation.TotalLines: lines of the vendor file (header excluded)',
  },
  Divergences: {
    unit: 'Count',
    dimensions: ['job_id', 'tipo_divergencia'],
    prometheus: 'reconciliation_divergences',
    help: 'Reconciliation.Divergences: divergence rows by tipo_divergencia',
  },
  ProcessingTime: {
    unit: 'Seconds',
    dimensions: ['job_id', 'stage'],
    prometheus: 'reconciliation_processing_time_seconds',
    help: 'Reconciliation.ProcessingTime: wall-clock seconds by stage (stage="total": the whole job)',
  },
  Throughput: {
    unit: 'Count/Second',
    dimensions: ['job_id'],
    prometheus: 'reconciliation_throughput_lines_per_second',
    help: 'Reconciliation.Throughput: vendor lines per second over the whole job',
  },
  ErrorRate: {
    unit: 'Percent',
    dimensions: ['job_id', 'error_type'],
    prometheus: 'reconciliation_error_rate_percent',
    help: 'Reconciliation.ErrorRate: invalid lines as a percentage of all lines (error_type="invalid_lines"), and by reject reason',
  },
  DivergenceRate: {
    unit: 'Percent',
    dimensions: ['job_id'],
    prometheus: 'reconciliation_divergence_rate_percent',
    help: 'Reconciliation.DivergenceRate: divergent orders as a percentage of distinct orders',
  },
} as const satisfies Record<
  string,
  { unit: MetricUnit; dimensions: readonly string[]; prometheus: string; help: string }
>;
export type MetricName = keyof typeof METRICS;

/** One value of one metric for one set of dimension values. */
export interface MetricPoint {
  name: MetricName;
  value: number;
  dimensions: Record<string, string>;
}

/** The metrics of a finished job, from its summary.json. */
export function jobSummaryMetrics(summary: JobSummary): MetricPoint[] {
  const job_id = summary.job_id;
  const points: MetricPoint[] = [{ name: 'TotalLines', value: summary.total_lines, dimensions: { job_id } }];
  for (const tipo of TIPOS) {
    points.push({
      name: 'Divergences',
      value: summary.divergences[tipo] ?? 0,
      dimensions: { job_id, tipo_divergencia: tipo },
    });
  }
  for (const [stage, seconds] of Object.entries(summary.stage_seconds)) {
    points.push({ name: 'ProcessingTime', value: seconds, dimensions: { job_id, stage } });
  }
  const total = summary.stage_seconds.total ?? 0;
  points.push({
    name: 'Throughput',
    value: total > 0 ? summary.total_lines / total : 0,
    dimensions: { job_id },
  });
  const percentOfLines = (n: number) => (summary.total_lines === 0 ? 0 : (n / summary.total_lines) * 100);
  points.push({
    name: 'ErrorRate',
    value: percentOfLines(summary.invalid_lines),
    dimensions: { job_id, error_type: 'invalid_lines' },
  });
  for (const [reason, count] of Object.entries(summary.rejects_by_reason ?? {})) {
    points.push({
      name: 'ErrorRate',
      value: percentOfLines(count),
      dimensions: { job_id, error_type: reason },
    });
  }
  points.push({ name: 'DivergenceRate', value: summary.divergence_rate * 100, dimensions: { job_id } });
  return points;
}

/** Where metric points go: Prometheus (embedded runtime) or CloudWatch EMF log lines (AWS). */
export interface MetricSink {
  record(points: readonly MetricPoint[], at?: Date): void;
}

/** Records a finished job's metrics in every sink; returns the points. */
export function recordJobMetrics(
  summary: JobSummary,
  sinks: readonly MetricSink[],
  at?: Date,
): MetricPoint[] {
  const points = jobSummaryMetrics(summary);
  for (const sink of sinks) sink.record(points, at);
  return points;
}

/** Jobs whose series `PrometheusMetrics` keeps by default: a month of daily jobs. */
export const PROMETHEUS_JOBS_KEPT = 31;

/**
 * The Prometheus sink: one gauge per metric (labels = the CloudWatch dimensions), and the
 * notifier's delivery counter. `text()` is the exposition text for `GET /metrics`.
 *
 * Every job adds series of its own (the `job_id` label), and a long-running `recon serve` would
 * expose every job it ever ran: the sink keeps the series of the last `jobsKept` jobs recorded and
 * drops the older ones' (Prometheus keeps the history it scraped). `forgetJob` drops one job's.
 */
export class PrometheusMetrics implements MetricSink {
  readonly registry: Registry;
  private readonly gauges: Record<MetricName, Gauge>;
  private readonly notifications: Counter<'channel' | 'outcome'>;
  private readonly jobsKept: number;
  /**
   * The series set for each job, oldest job first (a Map keeps insertion order), each once: keyed
   * by metric and labels, so a job recorded again (reprocessed) does not list its series twice.
   */
  private readonly jobSeries = new Map<
    string,
    Map<string, { gauge: Gauge; labels: Record<string, string> }>
  >();

  constructor(registry: Registry = new Registry(), options: { jobsKept?: number } = {}) {
    this.registry = registry;
    this.jobsKept = options.jobsKept ?? PROMETHEUS_JOBS_KEPT;
    if (!Number.isInteger(this.jobsKept) || this.jobsKept < 1) {
      throw new ReconError(
        'INVALID_CONFIG',
        `jobs kept in the metrics: expected a whole number above 0, got ${this.jobsKept}`,
      );
    }
    const gauges = {} as Record<MetricName, Gauge>;
    for (const [name, m] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
      gauges[name] = new Gauge({
        name: m.prometheus,
        help: m.help,
        labelNames: [...m.dimensions],
        registers: [registry],
      });
    }
    this.gauges = gauges;
    this.notifications = new Counter({
      name: 'reconciliation_notifications_total',
      help: 'Notification deliveries by channel and outcome (delivered, retried, failed, duplicate)',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    });
  }

  record(points: readonly MetricPoint[]): void {
    for (const p of points) {
      const gauge = this.gauges[p.name];
      gauge.set(p.dimensions, p.value);
      const jobId = p.dimensions.job_id;
      if (jobId === undefined) continue;
      const series = this.jobSeries.get(jobId) ?? new Map();
      // A job recorded again (reprocessed) becomes the newest.
      this.jobSeries.delete(jobId);
      this.jobSeries.set(jobId, series);
      series.set(seriesKey(p.name, p.dimensions), { gauge, labels: p.dimensions });
    }
    for (const jobId of this.jobSeries.keys()) {
      if (this.jobSeries.size <= this.jobsKept) break;
      this.forgetJob(jobId);
    }
  }

  /** Counts a notification delivery outcome (the notifier's `DeliveryCounter` port). */
  count(channel: string, outcome: string): void {
    this.notifications.inc({ channel, outcome });
  }

  /** Drops every series of a job. */
  forgetJob(jobId: string): void {
    for (const { gauge, labels } of this.jobSeries.get(jobId)?.values() ?? []) gauge.remove(labels);
    this.jobSeries.delete(jobId);
  }

  /** How many series the sink holds for a job: those `forgetJob` removes. */
  seriesOf(jobId: string): number {
    return this.jobSeries.get(jobId)?.size ?? 0;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** One CloudWatch Embedded Metric Format document (one log line). */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: MetricUnit }[];
    }[];
  };
  [member: string]: unknown;
}

/**
 * The EMF documents of a set of points. A document holds one value per metric name, so the points
 * are grouped by their dimension values: one document per group (e.g. one per divergence type).
 */
export function emfDocuments(
  points: readonly MetricPoint[],
  options: { namespace?: string; at?: Date } = {},
): EmfDocument[] {
  const namespace = options.namespace ?? METRIC_NAMESPACE;
  const timestamp = (options.at ?? new Date()).getTime();
  const groups = new Map<string, MetricPoint[]>();
  for (const p of points) {
    const keys = Object.keys(p.dimensions).sort();
    const id = JSON.stringify(keys.map((k) => [k, p.dimensions[k]]));
    const group = groups.get(id) ?? [];
    const clash = group.find((q) => q.name === p.name);
    if (clash !== undefined) {
      throw new Error(`metric ${p.name} appears twice with dimensions ${JSON.stringify(p.dimensions)}`);
    }
    group.push(p);
    groups.set(id, group);
  }
  const docs: EmfDocument[] = [];
  for (const group of groups.values()) {
    const dimensions = group[0]!.dimensions;
    const dimensionKeys = Object.keys(dimensions);
    for (let k = 0; k < group.length; k += 100) {
      const slice = group.slice(k, k + 100);
      const doc: EmfDocument = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [dimensionKeys],
              Metrics: slice.map((p) => ({ Name: p.name, Unit: METRICS[p.name].unit })),
            },
          ],
        },
        ...dimensions,
      };
      for (const p of slice) doc[p.name] = p.value;
      docs.push(doc);
    }
  }
  return docs;
}

/**
 * The CloudWatch sink: EMF JSON lines written to a log stream (stdout of a Fargate task or Lambda);
 * CloudWatch Logs extracts the metrics, no API call needed.
 */
export class EmfMetrics implements MetricSink {
  private readonly write: (line: string) => void;
  private readonly namespace: string;

  constructor(
    write: (line: string) => void = (line) => process.stdout.write(line),
    options: { namespace?: string } = {},
  ) {
    this.write = write;
    this.namespace = options.namespace ?? METRIC_NAMESPACE;
  }

  record(points: readonly MetricPoint[], at: Date = new Date()): void {
    for (const doc of emfDocuments(points, { namespace: this.namespace, at })) {
      this.write(`${JSON.stringify(doc)}\n`);
    }
  }
}

/** A series' identity: its metric and its labels, in a fixed order. */
function seriesKey(name: MetricName, labels: Record<string, string>): string {
  return JSON.stringify([
    name,
    ...Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  ]);
}
