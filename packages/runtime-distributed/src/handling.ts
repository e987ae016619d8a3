import { jobLogger, type ReceivedMessage, type ReconLogger } from '@recon/adapters';
import {
  type Envelope,
  type EventPublisher,
  type EventType,
  isReconError,
  type JobStore,
  jobIdOf,
  type QueueName,
  type ReconError,
  type ServiceContext,
} from '@recon/contracts';

// biome-ignore lint/suspicious/noExplicitAny: each handler validates its own payload type
export type Handler = (ctx: ServiceContext, payload: any) => Promise<void>;
export type QueueHandlers = Partial<Record<EventType, Handler>>;

/** Processed-message keys (the PostgreSQL job store's `processed_messages`). */
export interface ProcessedLedger {
  isProcessed(key: string): Promise<boolean>;
  markProcessed(key: string): Promise<boolean>;
}

export interface MessageHandlingOptions {
  queue: QueueName;
  handlers: QueueHandlers;
  /** The process's ports; each message gets a logger bound to its job and stage. */
  ctx: ServiceContext & { log: ReconLogger };
  jobs: JobStore;
  ledger: ProcessedLedger;
  /** Where `job.failed` goes (the process's publisher). */
  events: EventPublisher;
  /** The queue's redrive maxReceiveCount: the receive that reaches it is the last attempt. */
  maxReceiveCount: number;
}

/**
 * What a message does to its job when its handler fails, the distributed twin of the embedded
 * runtime's `failed`:
 *
 * - a transient error (or an unknown one) before the last attempt: rethrown, so the message is
 *   received again (after the visibility timeout, sooner when transient);
 * - a permanent error (a non-transient ReconError: a rejected file, a bad configuration): the job
 *   fails at once with the reason, `job.failed` is published, and the message is acknowledged —
 *   redelivering it cannot help;
 * - any error on the last attempt (receiveCount ≥ maxReceiveCount): the job fails the same way
 *   and the error is rethrown, so SQS moves the message to the DLQ where a person can see it.
 *
 * `JobStore.fail` returns true once per job, so the failure is announced once however many
 * messages fail. Failures of `job.failed` itself and of the notifier never fail a job.
 *
 * Idempotency: a message whose key (`<queue>:<event id>`) is recorded as processed is
 * acknowledged without running again (a duplicate, or a redelivery after a lost delete); two
 * copies in this process run one after the other, the second seeing the first's key. Handlers
 * already write results at deterministic keys and complete barriers idempotently; this makes
 * the side effects that are not (a second report, a second notification) happen once.
 */
export function createMessageHandler(options: MessageHandlingOptions) {
  const { queue, handlers, ctx, jobs, ledger, events, maxReceiveCount } = options;
  const running = new Map<string, Promise<void>>();

  const failJob = async (envelope: Envelope, jobId: string, error: unknown, log: ReconLogger) => {
    if (envelope.type === 'job.failed' || queue === 'notifier') return;
    const code = isReconError(error) ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    const changed = await jobs.fail(
      jobId,
      'FAILED',
      { stage: queue, code, message },
      ctx.clock.now().toISOString(),
    );
    if (!changed) return;
    log.error({ code, err: message }, 'job failed');
    await events.publish('job.failed', `job.failed:${jobId}`, {
      jobId,
      status: 'FAILED',
      stage: queue,
      code,
      message,
    });
  };

  return async (envelope: Envelope, received: ReceivedMessage): Promise<void> => {
    const jobId = jobIdOf(envelope);
    const log = jobLogger(ctx.log, {
      jobId: jobId ?? envelope.correlationId,
      stage: queue,
      correlationId: envelope.correlationId,
      event: envelope.type,
      event_id: envelope.id,
      receive_count: received.receiveCount,
    });
    const handler = handlers[envelope.type];
    if (handler === undefined) {
      log.warn({}, `no handler for ${envelope.type} on the ${queue} queue: dropped`);
      return;
    }
    const key = `${queue}:${envelope.id}`;
    for (let other = running.get(key); other !== undefined; other = running.get(key)) {
      await other.catch(() => {});
    }
    let done!: () => void;
    running.set(
      key,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    try {
      if (await ledger.isProcessed(key)) {
        log.info({}, 'already handled: duplicate acknowledged');
        return;
      }
      const started = performance.now();
      log.info({}, 'handling');
      try {
        await handler({ ...ctx, log }, envelope.payload);
      } catch (error) {
        const permanent = isReconError(error) && !error.transient;
        const last = received.receiveCount >= maxReceiveCount;
        const fields = {
          code: isReconError(error) ? error.code : 'INTERNAL',
          transient: isReconError(error) && error.transient,
          last_attempt: last,
          err: error instanceof Error ? error.message : String(error),
        };
        if (!(permanent || last) || jobId === undefined) {
          log.warn(fields, last ? 'handler failed on its last attempt' : 'handler failed; will be retried');
          throw error;
        }
        log.error(fields, permanent ? 'handler failed permanently' : 'handler failed on its last attempt');
        await failJob(envelope, jobId, error, log);
        if (!permanent || envelope.type === 'job.failed' || queue === 'notifier') throw error;
        await ledger.markProcessed(key);
        return;
      }
      await ledger.markProcessed(key);
      log.info({ duration_ms: Math.round(performance.now() - started) }, 'handled');
    } finally {
      running.delete(key);
      done();
    }
  };
}

/**
 * A message that does not decode: when its body names a job (payload.jobId, the envelope's
 * correlationId, or the same inside an EventBridge event's detail), that job fails with the
 * reason (INVALID_MESSAGE) and `job.failed` is published. The message itself is left untouched
 * for the DLQ.
 */
export function createInvalidMessageHandler(options: {
  queue: QueueName;
  jobs: JobStore;
  events: EventPublisher;
  log: ReconLogger;
  now: () => Date;
}) {
  return async (body: string | undefined, received: ReceivedMessage, error: ReconError): Promise<void> => {
    const jobId = jobIdInBody(body);
    if (jobId === undefined) return;
    const message = `a message on the ${options.queue} queue does not match its schema: ${error.message}`;
    const failure = { stage: options.queue, code: 'INVALID_MESSAGE', message };
    if (!(await options.jobs.fail(jobId, 'FAILED', failure, options.now().toISOString()))) return;
    options.log.error(
      { job_id: jobId, stage: options.queue, message_id: received.messageId, code: 'INVALID_MESSAGE' },
      'job failed: invalid message',
    );
    await options.events.publish('job.failed', `job.failed:${jobId}`, {
      jobId,
      status: 'FAILED',
      ...failure,
    });
  };
}

const JOB_ID = /^JOB-\d{8}-\d{6}$/;

export function jobIdInBody(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const candidates = (o: unknown): unknown[] => {
    if (typeof o !== 'object' || o === null) return [];
    const r = o as {
      payload?: { jobId?: unknown };
      correlationId?: unknown;
      jobId?: unknown;
      detail?: unknown;
    };
    return [r.payload?.jobId, r.jobId, r.correlationId, ...candidates(r.detail)];
  };
  return candidates(json).find((c): c is string => typeof c === 'string' && JOB_ID.test(c));
}

/** TEST ONLY: a handler that always throws (RECON_TEST_FAIL_EVENTS). */
export function poisonHandler(type: string): Handler {
  return async () => {
    throw new Error(`test: the ${type} handler always fails (RECON_TEST_FAIL_EVENTS)`);
  };
}

/** TEST ONLY: publishes every event twice (RECON_TEST_DUPLICATE_DELIVERY). */
export function duplicatingPublisher(inner: EventPublisher): EventPublisher {
  return {
    async publish(type, id, payload) {
      await inner.publish(type, id, payload);
      await inner.publish(type, id, payload);
    },
  };
}
