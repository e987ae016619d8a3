import {
  type Attributes,
  context,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { JobRecord } from '@recon/contracts';

/** `off` (default): no SDK, no spans. `console`: spans printed as they end. `memory`: kept for tests. */
export type TraceExporterKind = 'off' | 'console' | 'memory';

export interface TracingOptions {
  exporter?: TraceExporterKind;
  /** Tracer name and the `service.name` attribute of every span; default `recon`. */
  serviceName?: string;
  /** Also install the provider as the process-wide OpenTelemetry provider (`trace.getTracer`); default false. */
  registerGlobal?: boolean;
  /** An exporter of the caller's (e.g. OTLP), instead of `exporter`. */
  customExporter?: SpanExporter;
}

/** What a job's trace is built from: its record in the job store. */
export type JobTraceInput = Pick<JobRecord, 'jobId' | 'status' | 'history' | 'stages'> & {
  error?: JobRecord['error'];
};

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Runs `fn` in a span named after the stage, ended (with the error recorded) when `fn` settles. */
  inStage<T>(
    stage: string,
    attributes: { jobId: string; correlationId?: string } & Attributes,
    fn: (span: Span) => Promise<T>,
  ): Promise<T>;
  /**
   * The trace of a finished job, after the fact: a `recon.job` span from its first to its last
   * status change and one child span per stage, timed by the stage spans the job store recorded
   * (units of a stage run in parallel on many workers; the job store already merged them).
   */
  traceJob(job: JobTraceInput): void;
  /** Spans ended so far (memory exporter only). */
  finishedSpans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing, off unless asked: with `exporter: 'off'` no SDK is created or registered
 * and the tracer is a no-op one (spans are not recording, cost nothing).
 */
export function createTracing(options: TracingOptions = {}): Tracing {
  const serviceName = options.serviceName ?? 'recon';
  const kind = options.customExporter === undefined ? (options.exporter ?? 'off') : 'custom';
  if (kind === 'off') {
    // A provider of our own that is never given a delegate: its tracers are no-ops even when another
    // part of the process registered a global SDK.
    const tracer = new ProxyTracerProvider().getTracer(serviceName);
    return {
      enabled: false,
      tracer,
      inStage: (_stage, _attributes, fn) => fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT)),
      traceJob: () => {},
      finishedSpans: () => [],
      shutdown: async () => {},
    };
  }
  const memory = kind === 'memory' ? new InMemorySpanExporter() : undefined;
  const exporter: SpanExporter = options.customExporter ?? memory ?? new ConsoleSpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  if (options.registerGlobal === true) trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer(serviceName);
  const common = { 'service.name': serviceName };

  return {
    enabled: true,
    tracer,
    async inStage(stage, attributes, fn) {
      const { jobId, correlationId, ...rest } = attributes;
      const span = tracer.startSpan(stage, {
        attributes: {
          ...common,
          ...rest,
          'recon.job_id': jobId,
          'recon.stage': stage,
          'recon.correlation_id': correlationId ?? jobId,
        },
      });
      try {
        const result = await context.with(trace.setSpan(context.active(), span), () => fn(span));
        span.setStatus({ code: SpanStatusCode.OK });
        return result;
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    },
    traceJob(job) {
      const first = job.history[0];
      const last = job.history[job.history.length - 1];
      if (first === undefined || last === undefined) return;
      const failed = job.status === 'FAILED' || job.status === 'TIMEOUT' || job.status === 'CANCELLED';
      const root = tracer.startSpan('recon.job', {
        startTime: new Date(first.at),
        attributes: { ...common, 'recon.job_id': job.jobId, 'recon.status': job.status },
      });
      const parent = trace.setSpan(context.active(), root);
      const stages = Object.entries(job.stages).sort((a, b) => a[1].startedAt.localeCompare(b[1].startedAt));
      for (const [stage, span] of stages) {
        const child = tracer.startSpan(
          stage,
          {
            startTime: new Date(span.startedAt),
            attributes: { ...common, 'recon.job_id': job.jobId, 'recon.stage': stage },
          },
          parent,
        );
        if (failed && job.error?.stage === stage) {
          child.setStatus({ code: SpanStatusCode.ERROR, message: job.error.message });
        }
        child.end(new Date(span.finishedAt));
      }
      root.setStatus(
        failed
          ? { code: SpanStatusCode.ERROR, message: job.error?.message ?? job.status }
          : { code: SpanStatusCode.OK },
      );
      root.end(new Date(last.at));
    },
    finishedSpans: () => memory?.getFinishedSpans() ?? [],
    async shutdown() {
      await provider.shutdown();
    },
  };
}
