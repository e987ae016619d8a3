import { jobLogger, type ReceivedMessage, type ReconLogger, RetryLaterError } from '@recon/adapters';
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
import { type DeadlinePorts, deadlineAt, enforceDeadline, isOpen, watchDeadline } from './job-control.ts';

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
  /** Deadlines and retries (RULES §7); without it, neither is enforced here. */
  control?: JobControlOptions;
}

import type { RetryPolicy, RetryRecord } from '@recon/contracts';

export type { RetryPolicy, RetryRecord };

export interface JobControlOptions {
  deadline: DeadlinePorts;
  retry: RetryPolicy;
  /** Appends one record to the job's `facts.retries`, atomically (PostgresJobStore.appendFact). */
  recordRetry(jobId: string, record: RetryRecord): Promise<void>;
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
 * Job control (RULES §7, with `control`), for every message of a job except `job.failed` and the
 * notifier's:
 *
 * - before the handler: a job that ended FAILED, TIMEOUT or CANCELLED gets no work (the message is
 *   acknowledged); a job past its deadline is timed out (TIMEOUT, checkpoint, `job.failed`);
 * - while the handler runs: a timer at the deadline times the job out, and the handler stops at
 *   its next check of the job (the matcher checks after classifying its shard);
 * - a transient failure (ReconError.transient) is retried after the policy's delay (the
 *   message's visibility is set to it: RetryLaterError), recorded in `facts.retries`, at most
 *   `maxAttempts` times in all and never when the retry would start past the deadline; then the
 *   job fails (FAILED, the reason saying why) and the message is acknowledged.
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

  const { control } = options;
  const failJob = async (
    envelope: Envelope,
    jobId: string,
    error: unknown,
    log: ReconLogger,
    reason?: string,
  ) => {
    if (envelope.type === 'job.failed' || queue === 'notifier') return;
    const code = isReconError(error) ? error.code : 'INTERNAL';
    const message = reason ?? (error instanceof Error ? error.message : String(error));
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
      const controlled =
        control !== undefined &&
        jobId !== undefined &&
        queue !== 'notifier' &&
        envelope.type !== 'job.failed';
      let stopWatch = () => {};
      if (controlled) {
        const job = await jobs.getJob(jobId);
        if (job !== undefined && job.status !== 'SUCCEEDED' && !isOpen(job)) {
          log.info(
            { status: job.status },
            `the job has ended (${job.status}): message acknowledged without work`,
          );
          await ledger.markProcessed(key);
          return;
        }
        if (job !== undefined && (await enforceDeadline(control.deadline, job))) {
          await ledger.markProcessed(key);
          return;
        }
        if (job !== undefined) stopWatch = watchDeadline(control.deadline, job);
      }
      const started = performance.now();
      log.info({}, 'handling');
      try {
        await handler({ ...ctx, log }, envelope.payload);
      } catch (error) {
        stopWatch();
        const permanent = isReconError(error) && !error.transient;
        if (controlled && isReconError(error) && error.transient) {
          const fields = {
            code: error.code,
            transient: true,
            attempt: received.receiveCount,
            err: error.message,
          };
          const decision = await retryDecision(
            control,
            queue,
            jobId,
            envelope,
            received,
            error,
            maxReceiveCount,
          ).catch((lookup: unknown) => {
            // The job store itself is unreachable (PostgreSQL restarting): the consumer's own
            // short backoff brings the message back; the attempt is not recorded.
            log.warn({ ...fields, decision_error: String(lookup) }, 'handler failed; will be retried');
            return undefined;
          });
          if (decision === undefined) throw error;
          if (decision.kind === 'retry') {
            log.warn({ ...fields, delay_ms: decision.delayMs }, 'handler failed; will be retried');
            throw new RetryLaterError(decision.delayMs / 1000, error);
          }
          if (decision.kind === 'give-up') {
            log.error(
              { code: error.code, err: error.message, reason: decision.reason },
              'transient failure: gave up',
            );
            await failJob(envelope, jobId, error, log, `${error.message} (transient; ${decision.reason})`);
          }
          await ledger.markProcessed(key);
          return;
        }
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
      stopWatch();
      await ledger.markProcessed(key);
      log.info({ duration_ms: Math.round(performance.now() - started) }, 'handled');
    } finally {
      running.delete(key);
      done();
    }
  };
}

type RetryDecision =
  | { kind: 'retry'; delayMs: number }
  | { kind: 'give-up'; reason: string }
  /** The job ended meanwhile: nothing to retry. */
  | { kind: 'ended' };

/** RULES §7: retry after the policy's delay, unless the attempts are spent or the deadline is near. */
async function retryDecision(
  control: JobControlOptions,
  queue: QueueName,
  jobId: string,
  envelope: Envelope,
  received: ReceivedMessage,
  error: ReconError,
  maxReceiveCount: number,
): Promise<RetryDecision> {
  const { delaysMs, maxAttempts } = control.retry;
  const attempt = received.receiveCount;
  const job = await control.deadline.jobs.getJob(jobId);
  if (job !== undefined && !isOpen(job)) return { kind: 'ended' };
  const attempts = Math.min(maxAttempts, maxReceiveCount);
  if (attempt >= attempts) {
    return { kind: 'give-up', reason: `gave up after ${attempt} attempt(s): attempts spent` };
  }
  const delayMs = delaysMs[Math.min(attempt - 1, delaysMs.length - 1)] ?? 0;
  if (job !== undefined) {
    const deadline = deadlineAt(job, control.deadline.deadlineMs);
    if (Date.now() + delayMs >= deadline) {
      return {
        kind: 'give-up',
        reason: `gave up after ${attempt} attempt(s): the next retry, in ${delayMs} ms, would pass the deadline (${new Date(deadline).toISOString()})`,
      };
    }
    await control.recordRetry(jobId, {
      stage: queue,
      event: envelope.type,
      event_id: envelope.id,
      attempt,
      delay_ms: delayMs,
      code: error.code,
      message: error.message,
      at: control.deadline.now().toISOString(),
    });
  }
  return { kind: 'retry', delayMs };
}

/**
 * A message that does not decode: when its body names a job (payload.jobId, the envelope's
 * correlationId, or the same inside an EventBridge event's detail), that job fails with the
 * reason (INVALID_MESSAGE) and `job.failed` is published — except on the notifier's queue, where
 * it is only logged. The message itself is left untouched for the DLQ.
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
    if (options.queue === 'notifier') {
      // A notification it cannot read does not undo the job (as a failing notification does not):
      // logged, and left for the DLQ. The notifier publishes nothing (on AWS it may not).
      options.log.error(
        { job_id: jobId, stage: options.queue, message_id: received.messageId, code: 'INVALID_MESSAGE' },
        `notification not read: ${message}`,
      );
      return;
    }
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
