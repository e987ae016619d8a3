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
import { buildCheckpoint, type Checkpoint, checkpointKey, restoreFromCheckpoint } from './checkpoint.ts';
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
  /** Retries of transient handler failures (default: 30 s, 1 min, 2 min, 4 min; 3 attempts). */
  retry?: RetryPolicy;
}

/**
 * RULES §7: a step (one message on one queue) that fails transiently (object store 5xx or
 * throttling, database connection lost, timeouts: `ReconError.transient`) is attempted again after
 * `delaysMs[k]` (k = retries so far), at most `maxAttempts` times in all, and never when the retry
 * would start past the job's deadline. Permanent failures (bad input) are not retried.
 */
export interface RetryPolicy {
  delaysMs: readonly number[];
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  delaysMs: [30_000, 60_000, 120_000, 240_000],
  maxAttempts: 3,
};

/** One retry, as recorded in the job's facts (`facts.retries`). */
export interface RetryRecord {
  stage: string;
  event: string;
  event_id: string;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  delay_ms: number;
  code: string;
  message: string;
  at: string;
}

/** How long a job may take, counted from its arrival (RULES §7). */
export interface Deadline {
  /** Milliseconds after `arrivedAt` (default 20 minutes). */
  ms: number;
  /**
   * Count from now instead of from `arrivedAt`: a reprocess gets a whole deadline of its own, and
   * a run with a fixed clock (whose arrivedAt is not the real time) counts from its real start.
   */
  fromNow?: boolean;
}

export const DEFAULT_DEADLINE_MS = 20 * 60_000;

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED']);

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
  readonly metrics: PrometheusMetrics | undefined;
  private readonly tracing: Tracing;
  private readonly clock: ServiceContext['clock'];
  private readonly fixedClock: boolean;
  private readonly retry: RetryPolicy;
  /** Work outside the bus that a run must wait for: the timeout, scheduled retries. */
  private readonly pending = new Set<Promise<void>>();
  private readonly attempts = new Map<string, number>();
  /** Real time (ms) of each running job's deadline. */
  private readonly deadlines = new Map<string, number>();

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
    this.clock = ports.clock;
    this.fixedClock = config.ports.fixedNow !== null;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
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

  /**
   * Runs a job to its end (succeeded, failed or timed out) and returns its record and summary. At
   * the deadline the job becomes TIMEOUT, its checkpoint is written and job.failed announced.
   */
  async run(request: JobRequested, deadline: Deadline = { ms: DEFAULT_DEADLINE_MS }): Promise<JobOutcome> {
    return this.drive(request, deadline, async () => this.submit(request));
  }

  /**
   * Resumes a job from its checkpoint (`recon reprocess`): rebuilds its state in the job store and
   * redoes only what is pending (see `restoreFromCheckpoint`). The work objects must still exist.
   */
  async resume(checkpoint: Checkpoint, deadline: Deadline): Promise<JobOutcome> {
    const request = checkpoint.intermediate_data.request;
    const { jobId } = request;
    return this.drive(request, deadline, async () => {
      const mode = await restoreFromCheckpoint(this.jobs, checkpoint, this.clock.now().toISOString());
      this.log.info({ job_id: jobId, mode }, 'resuming from checkpoint');
      if (mode === 'restart') this.submit(request);
      else if (mode === 'report')
        this.bus.publish('reprocess', 'matching.completed', `matching.completed:${jobId}`, { jobId });
      else
        this.bus.publish('reprocess', 'partition.side-completed', `partition.side-completed:${jobId}:base`, {
          jobId,
          side: 'base',
        });
    });
  }

  private async drive(
    request: JobRequested,
    deadline: Deadline,
    start: () => Promise<void>,
  ): Promise<JobOutcome> {
    const elapsed =
      deadline.fromNow === true || this.fixedClock ? 0 : Date.now() - Date.parse(request.arrivedAt);
    const wait = Math.max(0, deadline.ms - elapsed);
    this.deadlines.set(request.jobId, Date.now() + wait);
    const timer = setTimeout(() => {
      this.track(
        this.timeout(request.jobId, deadline.ms).catch((error: unknown) => {
          this.log.error({ job_id: request.jobId, err: String(error) }, 'timing the job out failed');
        }),
      );
    }, wait);
    try {
      await start();
      await this.bus.idle();
      // A retry waiting for its turn, or the deadline passing while the last handler finishes:
      // the run ends only when they are done too.
      while (this.pending.size > 0) {
        await Promise.all([...this.pending]);
        await this.bus.idle();
      }
    } finally {
      clearTimeout(timer);
      this.deadlines.delete(request.jobId);
    }
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

  private track(work: Promise<void>): void {
    const safe = work.catch((error: unknown) =>
      this.log.error({ err: String(error) }, 'background work failed'),
    );
    this.pending.add(safe);
    void safe.finally(() => this.pending.delete(safe));
  }

  /**
   * Schedules another attempt of a step that failed transiently; false when the policy allows no
   * more (attempts spent, or the retry would start past the deadline).
   */
  private async retryLater(
    queue: QueueName,
    envelope: Envelope,
    jobId: string,
    code: string,
    message: string,
  ): Promise<boolean> {
    const key = `${queue}\u0000${envelope.id}`;
    const attempt = this.attempts.get(key) ?? 1;
    if (attempt >= this.retry.maxAttempts) return false;
    const delayMs =
      this.retry.delaysMs[Math.min(attempt - 1, this.retry.delaysMs.length - 1)] ??
      this.retry.delaysMs[0] ??
      0;
    const deadlineAt = this.deadlines.get(jobId);
    if (deadlineAt !== undefined && Date.now() + delayMs >= deadlineAt) return false;
    const job = await this.jobs.getJob(jobId);
    if (job === undefined || TERMINAL.has(job.status)) return false;
    this.attempts.set(key, attempt + 1);
    const record: RetryRecord = {
      stage: queue,
      event: envelope.type,
      event_id: envelope.id,
      attempt,
      delay_ms: delayMs,
      code,
      message,
      at: this.clock.now().toISOString(),
    };
    const earlier = Array.isArray(job.facts.retries) ? (job.facts.retries as RetryRecord[]) : [];
    await this.jobs.mergeFacts(jobId, { retries: [...earlier, record] });
    this.log.warn({ job_id: jobId, ...record }, 'transient failure, retrying');
    this.track(
      new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(async () => {
        const now = await this.jobs.getJob(jobId);
        if (now !== undefined && !TERMINAL.has(now.status)) this.bus.redeliver(queue, envelope);
      }),
    );
    return true;
  }

  /** The deadline passed: the job stops (TIMEOUT), its checkpoint is written, the failure announced. */
  private async timeout(jobId: string, deadlineMs: number): Promise<void> {
    const before = await this.jobs.getJob(jobId);
    if (before === undefined) {
      // The deadline passed before ingest recorded the job (worker threads still starting, a
      // loaded machine): time it out as soon as it exists, while there is still work in flight.
      if (!this.bus.busy) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return this.timeout(jobId, deadlineMs);
    }
    if (TERMINAL.has(before.status)) return;
    const stage = before.status.toLowerCase();
    const minutes = Math.round((deadlineMs / 60_000) * 100) / 100;
    const message = `the job passed its deadline (${minutes} min after the file arrived at ${before.request.arrivedAt}) while ${before.status}; work stopped, checkpoint written`;
    const error = { stage, code: 'DEADLINE_EXCEEDED', message };
    const at = this.clock.now().toISOString();
    if (!(await this.jobs.fail(jobId, 'TIMEOUT', error, at))) return;
    const job = (await this.jobs.getJob(jobId))!;
    const checkpoint = await buildCheckpoint(
      this.jobs,
      this.store,
      job,
      before.status,
      { error_type: 'TIMEOUT', message, stage },
      at,
    );
    const key = checkpointKey(jobId);
    await this.store.put(key, `${JSON.stringify(checkpoint, null, 2)}\n`);
    this.log.error({ job_id: jobId, stage, checkpoint: key }, 'job timed out');
    this.bus.publish('runtime', 'job.failed', `job.failed:${jobId}`, {
      jobId,
      status: 'TIMEOUT',
      stage,
      code: 'DEADLINE_EXCEEDED',
      message,
      checkpointKey: key,
    });
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
    let reason = message;
    if (error instanceof ReconError && error.transient) {
      if (await this.retryLater(queue, envelope, jobId, code, message)) return;
      const tries = this.attempts.get(`${queue}\u0000${envelope.id}`) ?? 1;
      reason = `${message} (transient; gave up after ${tries} attempt(s): attempts spent or the next retry would pass the deadline)`;
    }
    const changed = await this.jobs.fail(
      jobId,
      'FAILED',
      { stage: queue, code, message: reason },
      new Date().toISOString(),
    );
    if (changed) {
      this.bus.publish('runtime', 'job.failed', `job.failed:${jobId}`, {
        jobId,
        status: 'FAILED',
        stage: queue,
        code,
        message: reason,
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

export { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from './options.ts';
