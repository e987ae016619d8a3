import { availableParallelism } from 'node:os';
import { InMemoryJobStore, InProcessBus, type QueueConsumer, WorkerPool } from '@recon/adapters/embedded';
import { createReconLogger, jobLogger, type ReconLogger, type ReconLogLevel } from '@recon/adapters/logger';
import {
  createTracing,
  type PrometheusMetrics,
  recordJobMetrics,
  type Tracing,
} from '@recon/adapters/observability';
import {
  type Envelope,
  EVENT_SCHEMAS,
  type JobRecord,
  type JobRequested,
  type JobSummary,
  jobIdOf,
  keys,
  type ObjectStore,
  type QueueName,
  ReconError,
  type ServiceContext,
} from '@recon/contracts';
import { createNotifier, type NotifierConfigInput } from '@recon/notifier';
import { localPorts, type ProcessPorts } from './context.ts';
import { DEFAULT_SERVICE_OPTIONS, POOLED_QUEUES, type ServiceOptions } from './options.ts';
import type { QueueHandlers } from './services.ts';
import type { WorkerConfig } from './worker.ts';

export interface EmbeddedConfig {
  ports: ProcessPorts;
  /** Worker threads for the CPU-bound services; default: the machine's cores. */
  workers?: number;
  options?: ServiceOptions;
  logLevel?: ReconLogLevel;
  /** Where the main thread's JSON log lines go (default stderr); workers always write to stderr. */
  logDestination?: (line: string) => void;
  /** Slack/email channels, routing, retries (default: the log channel only). */
  notifier?: NotifierConfigInput;
  /** Job metrics land here when a job succeeds (Prometheus text). */
  metrics?: PrometheusMetrics;
  /** Spans per stage when a job ends (default: off). */
  tracing?: Tracing;
}

export interface JobOutcome {
  job: JobRecord;
  summary: JobSummary;
}

/**
 * Every service in one process: an in-process bus routed by the contracts' route table, the job
 * store in memory, the CPU-bound services on a pool of worker threads, the object store a folder.
 */
export class EmbeddedRuntime {
  readonly store: ObjectStore;
  readonly jobs = new InMemoryJobStore();
  readonly log: ReconLogger;
  private readonly bus: InProcessBus;
  private readonly pool: WorkerPool;
  private readonly metrics: PrometheusMetrics | undefined;
  private readonly tracing: Tracing;

  constructor(config: EmbeddedConfig) {
    const logLevel = config.logLevel ?? 'silent';
    this.log = createReconLogger({
      level: logLevel,
      base: { service: 'recon' },
      ...(config.logDestination === undefined ? {} : { destination: config.logDestination }),
    });
    this.metrics = config.metrics;
    this.tracing = config.tracing ?? createTracing();
    const ports = localPorts(config.ports);
    this.store = ports.store;
    this.bus = new InProcessBus({ clock: ports.clock, onFailure: (q, e, err) => this.failed(q, e, err) });
    const mainCtx: ServiceContext & { log: ReconLogger } = {
      ...ports,
      jobs: this.jobs,
      events: this.bus.publisher('notifier'),
      log: this.log,
    };
    const workerConfig: WorkerConfig = {
      ports: config.ports,
      options: config.options ?? DEFAULT_SERVICE_OPTIONS,
      logLevel,
    };
    this.pool = new WorkerPool({
      size: Math.max(1, config.workers ?? availableParallelism()),
      bootUrl: new URL('./worker-boot.mjs', import.meta.url),
      workerData: workerConfig,
      rpc: (target, method, args) => this.serve(target, method, args),
    });
    for (const queue of POOLED_QUEUES) this.bus.register(queue, this.pool.consumerFor(queue));
    const notifier: QueueHandlers = createNotifier(config.notifier ?? {}, {
      ...(this.metrics === undefined ? {} : { counter: this.metrics }),
    });
    this.bus.register(
      'notifier',
      inThread(mainCtx, 'notifier', notifier, (envelope) => this.observe(envelope)),
    );
  }

  /** Starts a job; resolves once it is queued. */
  submit(request: JobRequested): void {
    this.bus.publish('cli', 'job.requested', `job.requested:${request.jobId}`, request);
  }

  /** Runs a job to its end (succeeded or failed) and returns its record and summary. */
  async run(request: JobRequested): Promise<JobOutcome> {
    this.submit(request);
    await this.bus.idle();
    const job = await this.jobs.getJob(request.jobId);
    if (job === undefined) throw new Error(`job ${request.jobId} vanished`);
    const summary = JSON.parse(
      Buffer.from(await this.store.get(keys.summary(request.jobId))).toString('utf8'),
    ) as JobSummary;
    return { job, summary };
  }

  async close(): Promise<void> {
    await this.bus.idle();
    await this.pool.close();
  }

  private async serve(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (target === 'jobs') {
      const fn = (this.jobs as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      if (typeof fn !== 'function') throw new Error(`job store has no method ${method}`);
      return fn.apply(this.jobs, args);
    }
    if (target === 'events' && method === 'publish') {
      const [type, id, payload] = args as [keyof typeof EVENT_SCHEMAS, string, never];
      this.bus.publish('worker', type, id, payload);
      return undefined;
    }
    throw new Error(`unknown remote call ${target}.${method}`);
  }

  /** Metrics and traces of a finished job, in the main thread where the registry lives. */
  private async observe(envelope: Envelope): Promise<void> {
    if (envelope.type !== 'job.succeeded') return;
    const jobId = envelope.correlationId;
    const job = await this.jobs.getJob(jobId);
    const summary = job?.facts.summary as JobSummary | undefined;
    if (this.metrics !== undefined && summary !== undefined) recordJobMetrics(summary, [this.metrics]);
    if (job !== undefined) this.tracing.traceJob(job);
  }

  /** A handler failed: the job fails with the reason, once, and the failure is announced. */
  private async failed(queue: QueueName, envelope: Envelope, error: unknown): Promise<void> {
    const jobId = jobIdOf(envelope);
    const code = error instanceof ReconError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(
      { job_id: jobId, stage: queue, event: envelope.type, code, err: message },
      'handler failed',
    );
    if (jobId === undefined || envelope.type === 'job.failed' || queue === 'notifier') return;
    const changed = await this.jobs.fail(
      jobId,
      'FAILED',
      { stage: queue, code, message },
      new Date().toISOString(),
    );
    if (changed) {
      this.bus.publish('runtime', 'job.failed', `job.failed:${jobId}`, {
        jobId,
        status: 'FAILED',
        stage: queue,
        code,
        message,
      });
    }
  }
}

function inThread(
  ctx: ServiceContext & { log: ReconLogger },
  queue: QueueName,
  handlers: QueueHandlers,
  after: (envelope: Envelope) => Promise<void>,
): QueueConsumer {
  return {
    concurrency: 1,
    deliver: async (envelope) => {
      const handler = handlers[envelope.type];
      const log = jobLogger(ctx.log, { jobId: envelope.correlationId, stage: queue, event: envelope.type });
      if (handler !== undefined)
        await handler({ ...ctx, log }, EVENT_SCHEMAS[envelope.type].parse(envelope.payload));
      await after(envelope);
    },
  };
}
