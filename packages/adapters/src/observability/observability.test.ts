import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { JobRecord, JobSummary, Logger } from '@recon/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createReconLogger,
  createTracing,
  EmfMetrics,
  emfDocuments,
  jobLogger,
  jobSummaryMetrics,
  maskDeep,
  PrometheusMetrics,
  recordJobMetrics,
  type Tracing,
} from './index.ts';

const JOB = 'JOB-20260216-000001';

const SUMMARY: JobSummary = {
  job_id: JOB,
  status: 'SUCCEEDED',
  file_sha256: null,
  reference_date: '2026-02-16',
  total_lines: 1_000_000,
  valid_lines: 999_500,
  invalid_lines: 500,
  base_rows: 1_020_000,
  matched: 900_000,
  divergences: {
    TIPO_1: 50_000,
    TIPO_2: 30_000,
    TIPO_3_VALOR: 10_000,
    TIPO_3_DATA: 5_000,
    TIPO_3_NOME: 3_000,
    TIPO_3_ATIVO: 1_500,
    TIPO_3_FORNECEDOR: 500,
  },
  by_severity: { HIGH: 90_000, MEDIUM: 7_000, LOW: 3_000 },
  divergence_rate: 0.1234,
  top_suppliers: [],
  stage_seconds: { ingest: 30, partition: 200, base: 120, matching: 400, reporting: 60, total: 800 },
  started_at: '2026-02-16T10:00:00.000Z',
  finished_at: '2026-02-16T10:13:20.000Z',
  outputs: {},
  rejects_by_reason: { FIELD_COUNT: 300, INVALID_DATE: 150, DUPLICATE: 50 },
};

const FULL_NOMES = [
  'Maria Aparecida da Silva',
  'Aparecida',
  'João Pereira',
  'Ana Beatriz Costa',
  'Carlos Souza',
];

describe('logger', () => {
  function capture(level: 'info' | 'silent' = 'info') {
    const lines: string[] = [];
    const logger = createReconLogger({
      level,
      destination: (line) => lines.push(line),
      base: { service: 'test' },
    });
    return { logger, lines };
  }

  it('writes JSON lines carrying job_id, stage and correlation id through a job logger', () => {
    const { logger, lines } = capture();
    const port: Logger = logger; // the contracts' Logger port
    port.info({ event: 'boot' }, 'started');
    const job = jobLogger(logger, { jobId: JOB, stage: 'matcher', correlationId: 'corr-1', shard: 3 });
    job.info({ rows: 10 }, 'shard matched');
    job.warn({}, 'slow');
    jobLogger(logger, { jobId: JOB, stage: 'ingest' }).error({ code: 'X' }, 'bad');
    const parsed = lines.map((l) => JSON.parse(l));
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    expect(parsed[0]).toMatchObject({ level: 'INFO', service: 'test', event: 'boot', msg: 'started' });
    expect(Date.parse(parsed[0].timestamp)).not.toBeNaN();
    expect(parsed[1]).toMatchObject({
      level: 'INFO',
      job_id: JOB,
      stage: 'matcher',
      correlation_id: 'corr-1',
      shard: 3,
      rows: 10,
      msg: 'shard matched',
    });
    expect(parsed[2]).toMatchObject({
      level: 'WARN',
      job_id: JOB,
      stage: 'matcher',
      correlation_id: 'corr-1',
    });
    expect(parsed[3]).toMatchObject({ level: 'ERROR', job_id: JOB, stage: 'ingest', correlation_id: JOB });
  });

  it('masks every nome, wherever it is: fields, nesting, arrays, bindings, errors, the message', () => {
    const { logger, lines } = capture();
    const job = jobLogger(logger, { jobId: JOB, stage: 'matcher', nome: 'Ana Beatriz Costa' });
    job.info({ nome: 'Maria Aparecida da Silva' }, 'top level');
    job.info(
      { row: { ordem_id: 'O1', nome: 'João Pereira', nested: [{ nome_base: 'Carlos Souza' }] } },
      'deep',
    );
    job.info({ rows: [{ nome: 'Maria Aparecida da Silva' }, { nome: null }] }, 'array');
    job.error(
      { err: new Error('bad line: F1;O1;Maria Aparecida da Silva;A1;2026-02-16;10.00') },
      'handler failed',
    );
    const withField = Object.assign(new Error('conflict'), { nome: 'João Pereira' });
    job.error(withField);
    job.error(new Error('wrapper', { cause: new Error('nome: Carlos Souza') }), 'with cause');
    job.info({}, 'divergência de nome: Ana Beatriz Costa vs base');
    job.info({ detalhes: '{"nome":"João Pereira"}' }, 'json text');
    const text = lines.join('');
    for (const nome of FULL_NOMES) expect(text).not.toContain(nome);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[0]).toMatchObject({ nome: '***Silva', msg: 'top level' });
    expect(parsed.every((p) => p.nome === undefined || p.nome.startsWith('***'))).toBe(true);
    expect(parsed[1].row).toEqual({
      ordem_id: 'O1',
      nome: '***Pereira',
      nested: [{ nome_base: '***Souza' }],
    });
    expect(parsed[2].rows).toEqual([{ nome: '***Silva' }, { nome: null }]);
    expect(parsed[3].err.message).toBe('bad line: F1;O1;***Silva;A1;2026-02-16;10.00');
    expect(parsed[3].err.type).toBe('Error');
    expect(parsed[4]).toMatchObject({ msg: 'conflict', err: { nome: '***Pereira', message: 'conflict' } });
    expect(parsed[5].err.cause.message).toBe('nome: ***Souza');
    // Bare text: where the nome ends is unknown, so everything up to the delimiter is masked.
    expect(parsed[6].msg).toBe('divergência de nome: ***base');
    expect(parsed[7].detalhes).toBe('{"nome":"***Pereira"}');
    // The child's binding is masked too (lines whose own fields hold no nome show it).
    expect(parsed[1].nome).toBe('***Costa');
    const grandchild: string[] = [];
    const root = createReconLogger({ destination: (l) => grandchild.push(l) });
    root
      .child({ a: { nome: 'Maria Aparecida da Silva' } })
      .child({ nome_csv: 'João Pereira' })
      .info({}, 'x');
    expect(JSON.parse(grandchild[0]!)).toMatchObject({ a: { nome: '***Silva' }, nome_csv: '***Pereira' });
  });

  it('writes nothing below its level', () => {
    const { logger, lines } = capture('silent');
    logger.error({ nome: 'x' }, 'nothing');
    expect(lines).toEqual([]);
  });

  it('maskDeep leaves other values alone and survives cycles', () => {
    const a: Record<string, unknown> = { valor: '10.00', n: 3, d: null };
    a.self = a;
    expect(maskDeep(a)).toEqual({ valor: '10.00', n: 3, d: null, self: '[Circular]' });
    expect(maskDeep(['nome', 'F1;O1'])).toEqual(['nome', 'F1;O1']);
  });
});

/** Parses Prometheus text into "name{labels}" → value. */
function promValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describe('metrics', () => {
  it('Prometheus: the known summary gives the right values', async () => {
    const prom = new PrometheusMetrics();
    recordJobMetrics(SUMMARY, [prom]);
    prom.count('slack', 'delivered');
    prom.count('slack', 'failed');
    prom.count('slack', 'failed');
    const text = await prom.text();
    const v = promValues(text);
    const j = `job_id="${JOB}"`;
    expect(v.get(`reconciliation_total_lines{${j}}`)).toBe(1_000_000);
    expect(v.get(`reconciliation_divergences{${j},tipo_divergencia="TIPO_1"}`)).toBe(50_000);
    expect(v.get(`reconciliation_divergences{${j},tipo_divergencia="TIPO_2"}`)).toBe(30_000);
    expect(v.get(`reconciliation_divergences{${j},tipo_divergencia="TIPO_3_NOME"}`)).toBe(3_000);
    expect(v.get(`reconciliation_divergences{${j},tipo_divergencia="TIPO_3_FORNECEDOR"}`)).toBe(500);
    expect(v.get(`reconciliation_processing_time_seconds{${j},stage="matching"}`)).toBe(400);
    expect(v.get(`reconciliation_processing_time_seconds{${j},stage="total"}`)).toBe(800);
    expect(v.get(`reconciliation_throughput_lines_per_second{${j}}`)).toBe(1_250);
    expect(v.get(`reconciliation_error_rate_percent{${j},error_type="invalid_lines"}`)).toBeCloseTo(0.05, 12);
    expect(v.get(`reconciliation_error_rate_percent{${j},error_type="FIELD_COUNT"}`)).toBeCloseTo(0.03, 12);
    expect(v.get(`reconciliation_divergence_rate_percent{${j}}`)).toBeCloseTo(12.34, 12);
    expect(v.get('reconciliation_notifications_total{channel="slack",outcome="delivered"}')).toBe(1);
    expect(v.get('reconciliation_notifications_total{channel="slack",outcome="failed"}')).toBe(2);
    expect(text).toContain('# TYPE reconciliation_total_lines gauge');
    expect(text).toContain('# HELP reconciliation_total_lines Reconciliation.TotalLines');
    expect(prom.contentType).toMatch(/^text\/plain/);
    prom.forgetJob(JOB);
    expect(await prom.text()).not.toContain(JOB);
  });

  it('Prometheus: only the last jobs recorded keep their series; a job recorded again is the newest', async () => {
    const prom = new PrometheusMetrics(undefined, { jobsKept: 2 });
    const job = (n: number) => `JOB-20260216-00000${n}`;
    const record = (n: number) => recordJobMetrics({ ...SUMMARY, job_id: job(n) }, [prom]);
    const jobsIn = async () => {
      const ids = new Set<string>();
      for (const key of promValues(await prom.text()).keys()) {
        const id = /job_id="([^"]+)"/.exec(key)?.[1];
        if (id !== undefined) ids.add(id);
      }
      return [...ids].sort();
    };
    record(1);
    record(2);
    expect(await jobsIn()).toEqual([job(1), job(2)]);
    record(3);
    expect(await jobsIn()).toEqual([job(2), job(3)]);
    // Every series of the dropped job went, not only some.
    expect(await prom.text()).not.toContain(job(1));
    record(2);
    record(4);
    expect(await jobsIn()).toEqual([job(2), job(4)]);
    // Recorded twice, job 2 holds each of its series once: as many as the exposition shows.
    const linesOf = async (n: number) =>
      [...promValues(await prom.text()).keys()].filter((k) => k.includes(`job_id="${job(n)}"`)).length;
    expect(prom.seriesOf(job(2))).toBe(await linesOf(2));
    expect(prom.seriesOf(job(2))).toBe(prom.seriesOf(job(4)));
    expect(prom.seriesOf(job(1))).toBe(0);
    const v = promValues(await prom.text());
    expect(v.get(`reconciliation_divergences{job_id="${job(2)}",tipo_divergencia="TIPO_1"}`)).toBe(50_000);
    expect(() => new PrometheusMetrics(undefined, { jobsKept: 0 })).toThrow(/whole number above 0/);
  });

  it('CloudWatch EMF: every line has the specification shape, and the values of the summary', () => {
    const lines: string[] = [];
    const at = new Date('2026-02-16T10:13:20.000Z');
    recordJobMetrics(SUMMARY, [new EmfMetrics((l) => lines.push(l))], at);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const doc of docs) expect(emfViolations(doc)).toEqual([]);
    // 1 job-level document + 7 divergence types + 6 stages + 4 error types.
    expect(docs).toHaveLength(18);
    const find = (dims: Record<string, string>) =>
      docs.filter(
        (d) => Object.entries(dims).every(([k, x]) => d[k] === x) && Object.keys(dims).length === dimKeys(d),
      );
    const jobDoc = find({ job_id: JOB })[0]!;
    expect(jobDoc).toMatchObject({ TotalLines: 1_000_000, Throughput: 1_250, job_id: JOB });
    expect(jobDoc.DivergenceRate).toBeCloseTo(12.34, 12);
    expect(jobDoc._aws).toEqual({
      Timestamp: at.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: 'Reconciliation',
          Dimensions: [['job_id']],
          Metrics: [
            { Name: 'TotalLines', Unit: 'Count' },
            { Name: 'Throughput', Unit: 'Count/Second' },
            { Name: 'DivergenceRate', Unit: 'Percent' },
          ],
        },
      ],
    });
    const tipo1 = find({ job_id: JOB, tipo_divergencia: 'TIPO_1' })[0]!;
    expect(tipo1.Divergences).toBe(50_000);
    expect((tipo1._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics).toEqual([
      {
        Namespace: 'Reconciliation',
        Dimensions: [['job_id', 'tipo_divergencia']],
        Metrics: [{ Name: 'Divergences', Unit: 'Count' }],
      },
    ]);
    expect(find({ job_id: JOB, stage: 'base' })[0]!.ProcessingTime).toBe(120);
    expect(find({ job_id: JOB, error_type: 'invalid_lines' })[0]!.ErrorRate).toBeCloseTo(0.05, 12);
    const byType = docs.filter((d) => 'Divergences' in d).reduce((n, d) => n + (d.Divergences as number), 0);
    expect(byType).toBe(100_000);
  });

  it('emfDocuments refuses two values of one metric for the same dimensions', () => {
    expect(() =>
      emfDocuments([
        { name: 'TotalLines', value: 1, dimensions: { job_id: JOB } },
        { name: 'TotalLines', value: 2, dimensions: { job_id: JOB } },
      ]),
    ).toThrow(/twice/);
    expect(jobSummaryMetrics({ ...SUMMARY, total_lines: 0, stage_seconds: {} })).toContainEqual({
      name: 'Throughput',
      value: 0,
      dimensions: { job_id: JOB },
    });
  });
});

function dimKeys(doc: Record<string, unknown>): number {
  const aws = doc._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] };
  return aws.CloudWatchMetrics[0]!.Dimensions[0]!.length;
}

const EMF_UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/**
 * The Embedded Metric Format specification (CloudWatch, "Specification: Embedded metric format"):
 * a root `_aws` member with an integer millisecond `Timestamp` and a non-empty `CloudWatchMetrics`
 * array of directives; a directive has a 1–255 character `Namespace`, `Dimensions` (an array of
 * dimension sets, each an array of at most 30 names of root members holding strings) and `Metrics`
 * (at most 100 definitions: `Name` of a root member holding a number or up to 100 numbers, optional
 * `Unit` from the CloudWatch unit list). Returns what the document breaks.
 */
function emfViolations(doc: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const aws = doc._aws as Record<string, unknown> | undefined;
  if (aws === undefined || typeof aws !== 'object') return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp) || (aws.Timestamp as number) < 0)
    errors.push('Timestamp not epoch ms');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) return [...errors, 'CloudWatchMetrics empty'];
  for (const d of directives as Record<string, unknown>[]) {
    const ns = d.Namespace;
    if (typeof ns !== 'string' || ns.length < 1 || ns.length > 255) errors.push('bad Namespace');
    if (!Array.isArray(d.Dimensions)) errors.push('Dimensions not an array');
    else {
      for (const set of d.Dimensions as unknown[]) {
        if (!Array.isArray(set) || set.length > 30) errors.push('bad dimension set');
        else
          for (const name of set) {
            if (typeof name !== 'string' || typeof doc[name] !== 'string')
              errors.push(`dimension ${name} not a string member`);
          }
      }
    }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) errors.push('bad Metrics');
    else {
      for (const m of d.Metrics as Record<string, unknown>[]) {
        const name = m.Name;
        if (typeof name !== 'string' || name.length < 1 || name.length > 255) errors.push('bad metric Name');
        else {
          const value = doc[name];
          const ok =
            (typeof value === 'number' && Number.isFinite(value)) ||
            (Array.isArray(value) && value.length <= 100 && value.every((x) => typeof x === 'number'));
          if (!ok) errors.push(`metric ${name} has no numeric member`);
        }
        if (m.Unit !== undefined && !EMF_UNITS.has(m.Unit as string))
          errors.push(`bad Unit ${String(m.Unit)}`);
      }
    }
  }
  return errors;
}

describe('tracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('is off by default: no SDK registered, no spans recorded', async () => {
    tracing = createTracing();
    expect(tracing.enabled).toBe(false);
    let recording: boolean | undefined;
    const result = await tracing.inStage('ingest', { jobId: JOB }, async (span) => {
      recording = span.isRecording();
      return 42;
    });
    expect(result).toBe(42);
    expect(recording).toBe(false);
    expect(tracing.tracer.startSpan('x').isRecording()).toBe(false);
    expect(trace.getTracer('anyone').startSpan('x').isRecording()).toBe(false);
    expect(tracing.finishedSpans()).toEqual([]);
  });

  it('memory exporter: one span per stage, with the job id, errors recorded', async () => {
    tracing = createTracing({ exporter: 'memory' });
    await tracing.inStage('ingest', { jobId: JOB, correlationId: 'c-1' }, async () => {});
    await expect(
      tracing.inStage('matcher', { jobId: JOB, shard: 2 }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const [ingest, matcher] = tracing.finishedSpans();
    expect(ingest!.name).toBe('ingest');
    expect(ingest!.attributes).toMatchObject({
      'recon.job_id': JOB,
      'recon.stage': 'ingest',
      'recon.correlation_id': 'c-1',
    });
    expect(ingest!.status.code).toBe(SpanStatusCode.OK);
    expect(matcher!.attributes).toMatchObject({ 'recon.correlation_id': JOB, shard: 2 });
    expect(matcher!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(matcher!.events.map((e) => e.name)).toEqual(['exception']);
    // Not registered globally unless asked.
    expect(trace.getTracer('anyone').startSpan('x').isRecording()).toBe(false);
  });

  it('traceJob: a job span and one child span per stage, timed by the job store', () => {
    tracing = createTracing({ exporter: 'memory' });
    const job = {
      jobId: JOB,
      status: 'SUCCEEDED',
      history: [
        { status: 'RECEIVED', at: '2026-02-16T10:00:00.000Z' },
        { status: 'SUCCEEDED', at: '2026-02-16T10:13:20.000Z' },
      ],
      stages: {
        matching: { startedAt: '2026-02-16T10:04:00.000Z', finishedAt: '2026-02-16T10:12:00.000Z' },
        ingest: { startedAt: '2026-02-16T10:00:01.000Z', finishedAt: '2026-02-16T10:00:31.000Z' },
        reporting: { startedAt: '2026-02-16T10:12:00.000Z', finishedAt: '2026-02-16T10:13:00.000Z' },
      },
    } satisfies Pick<JobRecord, 'jobId' | 'status' | 'history' | 'stages'>;
    tracing.traceJob(job);
    const spans = tracing.finishedSpans();
    const root = spans.find((s) => s.name === 'recon.job')!;
    const children = spans.filter((s) => s.name !== 'recon.job');
    expect(children.map((s) => s.name)).toEqual(['ingest', 'matching', 'reporting']);
    for (const child of children) {
      expect(child.parentSpanId).toBe(root.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
    }
    const seconds = (s: (typeof spans)[number]) => s.duration[0] + s.duration[1] / 1e9;
    expect(seconds(root)).toBe(800);
    expect(seconds(children[1]!)).toBe(480);
    expect(root.attributes['recon.status']).toBe('SUCCEEDED');
  });
});
