import { availableParallelism } from 'node:os';
import {
  InMemoryJobStore,
  InProcessBus,
  type QueueConsumer,
  type WorkerBoot,
  WorkerPool,
} from '@recon/adapters/embedded';
import { createReconLogger, jobLogger, type ReconLogger, type ReconLogLevel } from '@recon/adapters/logger';
import {
  createTracing,
  type PrometheusMetrics,
  recordJobMetrics,
  type Tracing,
} from '@recon/adapters/observability';
import {
  BARRIERS,
  deadlineMessage,
  type Envelope,
  EVENT_SCHEMAS,
  type EventPublisher,
  FINAL_JOB_STATUSES,
  type JobRecord,
  type JobRequested,
  type JobStore,
  type JobSummary,
  jobIdOf,
  keys,
  type ObjectStore,
  type QueueName,
  ReconError,
  type ServiceContext,
} from '@recon/contracts';
import { createNotifier, type DeliveryCounter, type NotifierConfigInput } from '@recon/notifier';
import { buildCheckpoint, type Checkpoint, resumeJob, stopJob, writeCheckpoint } from './checkpoint.ts';
import { localPorts, type ProcessPorts } from './context.ts';
import { DEFAULT_SERVICE_OPTIONS, POOLED_QUEUES, type ServiceOptions } from './options.ts';
import type { QueueHandlers } from './services.ts';
import type { WorkerConfig } from './worker.ts';
import { workerBoot } from './worker-bundle.ts';

export interface EmbeddedConfig {
  ports: ProcessPorts;
  /** Worker threads for the CPU-bound services; default: the machine's cores. */
  workers?: number;
  options?: ServiceOptions;
  logLevel?: ReconLogLevel;
  /**
   * Where the JSON log lines go (default stderr), the workers' too: a worker then sends each line
   * to the main thread instead of writing it to stderr itself.
   */
  logDestination?: (line: string) => void;
  /** Slack/email channels, routing, retries (default: the log channel only). */
  notifier?: NotifierConfigInput;
  /** Job metrics land here when a job succeeds (Prometheus text). */
  metrics?: PrometheusMetrics;
  /**
   * Also counts the notifier's delivery outcomes, besides `metrics` (e.g. the `/metrics` registry
   * of `recon serve`, which outlives each job's runtime).
   */
  notificationCounter?: DeliveryCounter;
  /** Spans per stage when a job ends (default: off). */
  tracing?: Tracing;
  /** Retries of transient handler failures (default: 30 s, 1 min, 2 min, 4 min; 3 attempts). */
  retry?: RetryPolicy;
  /**
   * The job store (default: in memory, for one-shot runs). `recon serve` passes its PostgreSQL
   * store, so jobs outlive the process and the admin API lists them.
   */
  jobs?: JobStore;
  /**
   * Progress checkpoints (status IN_PROGRESS) while a job runs, so a process killed mid-job can be
   * resumed by `recon reprocess`: one when the job is recorded and at each stage boundary, and
   * after completed shards at most once per this many milliseconds (default 1000; 0: after every
   * shard).
   */
  progressCheckpointMs?: number;
  /** TEST ONLY: how the worker threads start (default: the bundled worker, `workerBoot`). */
  testWorkerBoot?: WorkerBoot;
}

import { DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryRecord } from '@recon/contracts';

export { DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryRecord };

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
  readonly jobs: JobStore;
  readonly log: ReconLogger;
  /**
   * Publishes on this runtime's bus, routed like every event (e.g. the `delivery.missing` alert
   * of a DeliveryWatch in `recon serve`: `publishAlert(runtime.events)`).
   */
  readonly events: EventPublisher;
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
  /**
   * Checkpoint writes of each job, one after another: a progress checkpoint never lands after
   * (and so never overwrites) the checkpoint of the job's stop.
   */
  private readonly checkpointWrites = new Map<string, Promise<unknown>>();
  /** Progress checkpoints: when each job's last one was written, and its pending timer. */
  private readonly progress = new Map<string, { lastAt: number; timer: NodeJS.Timeout | null }>();
  private readonly progressCheckpointMs: number;

  constructor(config: EmbeddedConfig) {
    const logLevel = config.logLevel ?? 'silent';
    this.log = createReconLogger({
      level: logLevel,
      base: { service: 'recon' },
      ...(config.logDestination === undefined ? {} : { destination: config.logDestination }),
    });
    this.jobs = config.jobs ?? new InMemoryJobStore();
    this.metrics = config.metrics;
    this.tracing = config.tracing ?? createTracing();
    const ports = localPorts(config.ports);
    this.store = ports.store;
    this.clock = ports.clock;
    this.fixedClock = config.ports.fixedNow !== null;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.progressCheckpointMs = config.progressCheckpointMs ?? 1_000;
    this.bus = new InProcessBus({ clock: ports.clock, onFailure: (q, e, err) => this.failed(q, e, err) });
    this.events = this.publisher('runtime');
    const mainCtx: ServiceContext & { log: ReconLogger } = {
      ...ports,
      jobs: this.jobs,
      events: this.bus.publisher('notifier'),
      log: this.log,
    };
    const size = Math.max(1, config.workers ?? availableParallelism());
    const options = config.options ?? DEFAULT_SERVICE_OPTIONS;
    const workerConfig: WorkerConfig = {
      ports: config.ports,
      // A large report is written in as many parts as there are workers, all at once.
      options: {
        ...options,
        reporter: { ...options.reporter, reportParts: options.reporter.reportParts ?? size },
      },
      logLevel,
      forwardLogs: config.logDestination !== undefined,
    };
    this.pool = new WorkerPool({
      size,
      boot: config.testWorkerBoot ?? workerBoot(),
      workerData: workerConfig,
      rpc: (target, method, args) => this.serve(target, method, args),
      ...(config.logDestination === undefined ? {} : { onLog: config.logDestination }),
    });
    for (const queue of POOLED_QUEUES) this.bus.register(queue, this.pool.consumerFor(queue));
    const counters = [this.metrics, config.notificationCounter].filter((c) => c !== undefined);
    const notifier: QueueHandlers = createNotifier(config.notifier ?? {}, {
      ...(counters.length === 0
        ? {}
        : {
            counter: {
              count: (channel, outcome) => {
                for (const c of counters) c.count(channel, outcome);
              },
            },
          }),
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
   * The job is recorded (RECEIVED) before any of its work is sent, and `onRecorded` called: whoever
   * is told of it from there finds it. The ingest takes the record as its own (as a redelivery).
   */
  async run(
    request: JobRequested,
    deadline: Deadline = { ms: DEFAULT_DEADLINE_MS },
    onRecorded?: () => void,
  ): Promise<JobOutcome> {
    return this.drive(request, deadline, async () => {
      await this.jobs.createJob(request, this.clock.now().toISOString());
      onRecorded?.();
      this.submit(request);
    });
  }

  /**
   * Resumes a job from its checkpoint (`recon reprocess`; a TIMEOUT, CANCELLED or FAILED job, or
   * one whose process was killed): rebuilds its state in the job store — or, when the store still
   * holds the job (a PostgreSQL store), reopens it — and redoes only what is pending (see
   * `resumeJob`). The work objects must still exist. `onResumed`: called once the job is open
   * again and its pending work sent.
   */
  async resume(checkpoint: Checkpoint, deadline: Deadline, onResumed?: () => void): Promise<JobOutcome> {
    const request = checkpoint.intermediate_data.request;
    const { jobId } = request;
    return this.drive(request, deadline, async () => {
      const mode = await resumeJob(
        { jobs: this.jobs, events: this.publisher('reprocess') },
        jobId,
        checkpoint,
        this.clock.now().toISOString(),
      );
      this.log.info(
        { job_id: jobId, mode, checkpoint_status: checkpoint.status },
        'resuming from checkpoint',
      );
      onResumed?.();
    });
  }

  /**
   * Cancels a running job (an operator's decision; the admin API calls this): the job becomes
   * CANCELLED, every handler stops working for it (they only work for an open job), its checkpoint
   * is written to `checkpoints/<job_id>/checkpoint.json` so `recon reprocess` can resume it, and
   * `job.failed` (status CANCELLED, announced as MEDIUM) goes to the reporter (a CANCELLED
   * summary.json) and the notifier. Returns false, changing nothing, when the job had already
   * ended or is unknown to this runtime's job store.
   */
  async cancel(jobId: string, reason?: string): Promise<boolean> {
    const why = reason === undefined || reason.trim() === '' ? 'cancelled by an operator' : reason.trim();
    const stopped = await this.serialized(jobId, () =>
      stopJob(this.controlPorts(), jobId, {
        status: 'CANCELLED',
        code: 'CANCELLED',
        message: (job) =>
          `the job was cancelled while ${job.status} (${why}); work stopped, checkpoint written — recon reprocess ${jobId} resumes it`,
      }),
    );
    if (stopped) this.log.warn({ job_id: jobId, reason: why }, 'job cancelled');
    return stopped;
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
      const progress = this.progress.get(request.jobId);
      if (progress?.timer) clearTimeout(progress.timer);
      this.progress.delete(request.jobId);
      await this.checkpointWrites.get(request.jobId);
      this.checkpointWrites.delete(request.jobId);
    }
    // Workers that could not start ran nothing of the job (not even its reporter): their reason.
    if (this.pool.startFailure !== null) throw this.pool.startFailure;
    const job = await this.jobs.getJob(request.jobId);
    if (job === undefined || !FINAL_JOB_STATUSES.includes(job.status)) {
      throw new Error(
        `job ${request.jobId} ${job === undefined ? 'vanished' : `stopped while ${job.status}: no handler is left to carry it on`}`,
      );
    }
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
    const stopped = await this.serialized(jobId, () =>
      stopJob(this.controlPorts(), jobId, {
        status: 'TIMEOUT',
        code: 'DEADLINE_EXCEEDED',
        message: (job) => deadlineMessage(deadlineMs, job.request.arrivedAt, job.status),
      }),
    );
    if (stopped) this.log.error({ job_id: jobId, stage: before.status.toLowerCase() }, 'job timed out');
  }

  private controlPorts() {
    return {
      jobs: this.jobs,
      store: this.store,
      events: this.publisher('runtime'),
      now: () => this.clock.now(),
    };
  }

  private publisher(producer: string): EventPublisher {
    return {
      publish: async (type, id, payload) => {
        this.bus.publish(producer, type, id, payload);
      },
    };
  }

  /** Runs a checkpoint write after the job's earlier ones. */
  private serialized<T>(jobId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.checkpointWrites.get(jobId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.checkpointWrites.set(
      jobId,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * A job moved (recorded, a new stage, a shard done): write its progress checkpoint — at once at
   * stage boundaries, at most once per `progressCheckpointMs` for shards. Cheap: a small JSON of
   * the completed units, written in the background (errors are logged, never fail the job).
   */
  private onProgress(jobId: string, boundary: boolean): void {
    let state = this.progress.get(jobId);
    if (state === undefined) {
      state = { lastAt: 0, timer: null };
      this.progress.set(jobId, state);
    }
    const wait = boundary ? 0 : state.lastAt + this.progressCheckpointMs - Date.now();
    if (wait <= 0) {
      if (state.timer !== null) clearTimeout(state.timer);
      state.timer = null;
      state.lastAt = Date.now();
      void this.writeProgress(jobId);
    } else if (state.timer === null) {
      const s = state;
      s.timer = setTimeout(() => {
        s.timer = null;
        s.lastAt = Date.now();
        void this.writeProgress(jobId);
      }, wait);
      s.timer.unref();
    }
  }

  private writeProgress(jobId: string): Promise<void> {
    return this.serialized(jobId, async () => {
      const job = await this.jobs.getJob(jobId);
      if (job === undefined || TERMINAL.has(job.status)) return;
      const at = this.clock.now().toISOString();
      const checkpoint = await buildCheckpoint(
        this.jobs,
        this.store,
        job,
        job.status,
        'IN_PROGRESS',
        null,
        at,
      );
      await writeCheckpoint(this.store, checkpoint);
    }).catch((error: unknown) => {
      this.log.warn({ job_id: jobId, err: String(error) }, 'progress checkpoint not written');
    });
  }

  private async serve(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (target === 'jobs') {
      const fn = (this.jobs as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      if (typeof fn !== 'function') throw new Error(`job store has no method ${method}`);
      const result = await fn.apply(this.jobs, args);
      const jobId =
        typeof args[0] === 'string' ? args[0] : (args[0] as { jobId?: unknown } | undefined)?.jobId;
      if (typeof jobId === 'string') {
        if (method === 'setStatus' || (method === 'createJob' && result === true))
          this.onProgress(jobId, true);
        else if (method === 'completeUnit' && args[1] === BARRIERS.shards) this.onProgress(jobId, false);
      }
      return result;
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
