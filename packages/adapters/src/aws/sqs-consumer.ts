import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Envelope, type Logger, ReconError } from '@recon/contracts';
import { backoffMs, delay } from './batches.ts';
import { decodeEnvelope } from './envelope.ts';
import { toReconError } from './errors.ts';

/** SQS's longest visibility timeout: 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Thrown by a handler to have its message received again after `delaySeconds` (a
 * ChangeMessageVisibility to that delay, whatever the consumer's default): the runtime's backoff
 * of a transient failure (RULES §7: 30 s, 1 min, 2 min…). Code and message are the failure's.
 */
export class RetryLaterError extends ReconError {
  override name = 'RetryLaterError';
  readonly delaySeconds: number;

  constructor(delaySeconds: number, failure: unknown) {
    super(
      failure instanceof ReconError ? failure.code : 'INTERNAL',
      failure instanceof Error ? failure.message : String(failure),
      { cause: failure, transient: true },
    );
    this.delaySeconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
  }
}

/** Handles one decoded message; `message` says which delivery this is (receive count). */
export type EnvelopeHandler = (envelope: Envelope, message: ReceivedMessage) => Promise<void>;

/**
 * Called (and awaited) when a message does not decode, before it is left for the DLQ: the runtime
 * uses it to fail the job the message names, if its body names one.
 */
export type InvalidMessageHandler = (
  body: string | undefined,
  message: ReceivedMessage,
  error: ReconError,
) => Promise<void>;

/** What is known of a received message before (and whether or not) it decodes. */
export interface ReceivedMessage {
  messageId: string;
  /** 1 on the first delivery; SQS moves the message to the DLQ once this exceeds maxReceiveCount. */
  receiveCount: number;
}

export type ConsumerStage = 'receive' | 'decode' | 'handler' | 'delete' | 'visibility';

export interface ConsumerErrorInfo {
  stage: ConsumerStage;
  /** A stable code: INVALID_MESSAGE for undecodable messages, the handler's ReconError code, or INTERNAL. */
  code: string;
  transient: boolean;
  message?: ReceivedMessage;
  envelope?: Envelope;
}

/** Observation points, for tests (wait on them instead of sleeping) and for metrics. */
export interface SqsConsumerHooks {
  /** A ReceiveMessage call returned `count` messages (called before they are dispatched). */
  onReceived?(count: number): void;
  /** The handler succeeded and the message was deleted. */
  onHandled?(envelope: Envelope, message: ReceivedMessage): void;
  onError?(error: unknown, info: ConsumerErrorInfo): void;
  /** The visibility timeout of a message whose handler is still running was extended. */
  onVisibilityExtended?(message: ReceivedMessage): void;
  /** The receive loop has ended (after stop()); in-flight handlers may still be running. */
  onPollingStopped?(): void;
}

export interface SqsConsumerOptions {
  client: SQSClient;
  queueUrl: string;
  handler: EnvelopeHandler;
  log: Logger;
  /** Handlers running at once in this consumer; default 4. */
  concurrency?: number;
  /** MaxNumberOfMessages per receive (1–10); default 10. Never more than the free handler slots. */
  batchSize?: number;
  /** Long-poll wait (0–20 s); default 20. */
  waitTimeSeconds?: number;
  /**
   * Visibility timeout asked for on every receive (overrides the queue's), and the length of each
   * extension; default 30 s. A message whose handler runs longer keeps being extended.
   */
  visibilityTimeoutSeconds?: number;
  /** Extend visibility every `fraction × visibilityTimeout` while a handler runs; default 0.5. */
  heartbeatFraction?: number;
  /** Turn visibility extension off (only to show, in tests, what it prevents). Default true. */
  extendVisibility?: boolean;
  /**
   * Seconds before a message whose handler failed with a *transient* error is visible again
   * (ChangeMessageVisibility), by receive count; default 0, 1, 3, 7… capped at the visibility
   * timeout. `null` leaves such messages to the visibility timeout like any other failure. A
   * handler that throws RetryLaterError chooses the delay itself.
   */
  transientRetryDelaySeconds?: ((receiveCount: number) => number) | null;
  /** Runs before an undecodable message is left for the DLQ (its failures are only logged). */
  onInvalidMessage?: InvalidMessageHandler;
  /**
   * Seconds before an undecodable message is visible again. Default null: the visibility timeout.
   * 0 sends it through its maxReceiveCount receives (and so to the DLQ) at once: retrying a message
   * that does not match its schema cannot help.
   */
  invalidRetryDelaySeconds?: number | null;
  /** Successful deletes are grouped into DeleteMessageBatch calls for up to this long; default 10 ms. */
  deleteBatchWindowMs?: number;
  hooks?: SqsConsumerHooks;
}

export interface StopResult {
  /** Every in-flight handler finished before the timeout. */
  drained: boolean;
  /** Handlers still running when the timeout passed (their messages reappear after the visibility timeout). */
  abandoned: number;
}

interface InFlight {
  message: ReceivedMessage;
  receiptHandle: string;
  stopHeartbeat: () => void;
}

/**
 * Consumes one SQS queue: long polling, at most `concurrency` handlers at once, each message
 * validated (EnvelopeSchema, then its payload schema) before its handler runs.
 *
 * - handler succeeds → the message is deleted (batched);
 * - handler throws → the message is left, and reappears after the visibility timeout (sooner for
 *   transient errors); SQS moves it to the DLQ after maxReceiveCount receives;
 * - the message is invalid → it is logged with code INVALID_MESSAGE and left alone, so it reaches
 *   the DLQ the same way, where a person can inspect it;
 * - a handler that runs long gets its visibility extended, so no other consumer takes the message.
 *
 * Only as many messages are received as there are free handler slots, so nothing waits in this
 * process while another could handle it.
 */
export class SqsConsumer {
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly handler: EnvelopeHandler;
  private readonly log: Logger;
  private readonly hooks: SqsConsumerHooks;
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly waitTimeSeconds: number;
  private readonly visibilityTimeout: number;
  private readonly heartbeatMs: number | null;
  private readonly transientDelay: ((receiveCount: number) => number) | null;
  private readonly deleter: DeleteBatcher;
  private readonly onInvalidMessage: InvalidMessageHandler | undefined;
  private readonly invalidRetryDelay: number | null;

  private readonly inFlight = new Map<Promise<void>, InFlight>();
  private readonly abort = new AbortController();
  private slotWaiter: (() => void) | null = null;
  private polling: Promise<void> | null = null;
  private stopping: Promise<StopResult> | null = null;

  constructor(options: SqsConsumerOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.handler = options.handler;
    this.log = options.log;
    this.hooks = options.hooks ?? {};
    this.concurrency = atLeast1(options.concurrency ?? 4);
    this.batchSize = Math.min(10, atLeast1(options.batchSize ?? 10));
    this.waitTimeSeconds = Math.min(20, Math.max(0, options.waitTimeSeconds ?? 20));
    this.visibilityTimeout = Math.max(1, Math.round(options.visibilityTimeoutSeconds ?? 30));
    const fraction = options.heartbeatFraction ?? 0.5;
    if (!(fraction > 0 && fraction < 1)) {
      throw new ReconError('INVALID_CONFIG', `heartbeatFraction must be in (0, 1), got ${fraction}`);
    }
    this.heartbeatMs = options.extendVisibility === false ? null : this.visibilityTimeout * 1000 * fraction;
    const cap = this.visibilityTimeout;
    this.transientDelay =
      options.transientRetryDelaySeconds === undefined
        ? (count) => Math.min(cap, 2 ** (count - 1) - 1)
        : options.transientRetryDelaySeconds;
    this.onInvalidMessage = options.onInvalidMessage;
    this.invalidRetryDelay = options.invalidRetryDelaySeconds ?? null;
    this.deleter = new DeleteBatcher(this.client, this.queueUrl, options.deleteBatchWindowMs ?? 10);
  }

  /** Starts the receive loop; returns at once. */
  start(): void {
    if (this.polling !== null || this.isStopping) {
      throw new ReconError('INTERNAL', `the consumer of ${this.queueUrl} was already started or stopped`);
    }
    this.polling = this.pollLoop();
  }

  /** Handlers running now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Graceful shutdown: stops receiving (an open long poll is aborted), waits up to `timeoutMs` for
   * running handlers (their deletes included), then resolves. Idempotent.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<StopResult> {
    this.stopping ??= this.shutdown(options.timeoutMs ?? 30_000);
    return this.stopping;
  }

  private get isStopping(): boolean {
    return this.stopping !== null;
  }

  private async shutdown(timeoutMs: number): Promise<StopResult> {
    this.abort.abort();
    this.wakePoller();
    await this.polling;
    const running = [...this.inFlight.keys()];
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled(running).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const abandoned = [...this.inFlight.values()];
    // Stop extending what we no longer wait for: those messages must reappear for another consumer.
    for (const entry of abandoned) entry.stopHeartbeat();
    await this.deleter.flush();
    if (!drained) {
      this.log.warn(
        { queueUrl: this.queueUrl, abandoned: abandoned.map((a) => a.message.messageId) },
        `stopped with ${abandoned.length} handler(s) still running; their messages will be redelivered`,
      );
    }
    return { drained, abandoned: abandoned.length };
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (!this.isStopping) {
      await this.freeSlot();
      if (this.isStopping) break;
      const free = this.concurrency - this.inFlight.size;
      let messages: Message[];
      try {
        const out = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(this.batchSize, free),
            WaitTimeSeconds: this.waitTimeSeconds,
            VisibilityTimeout: this.visibilityTimeout,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (this.isStopping) break;
        failures++;
        const wrapped = toReconError(error, `receiving from ${this.queueUrl}`);
        this.log.error(
          { queueUrl: this.queueUrl, code: wrapped.code, transient: wrapped.transient, err: wrapped.message },
          'receive failed; retrying after a backoff',
        );
        this.hooks.onError?.(wrapped, { stage: 'receive', code: wrapped.code, transient: wrapped.transient });
        await delay(backoffMs(failures, { baseDelayMs: 200, maxDelayMs: 20_000 }), this.abort.signal);
        continue;
      }
      if (messages.length > 0) this.hooks.onReceived?.(messages.length);
      if (this.isStopping) {
        // Received but not started: hand them back at once rather than after the visibility timeout.
        await this.release(messages);
        break;
      }
      for (const message of messages) this.dispatch(message);
    }
    this.hooks.onPollingStopped?.();
  }

  private freeSlot(): Promise<void> {
    if (this.inFlight.size < this.concurrency) return Promise.resolve();
    return new Promise((resolve) => {
      this.slotWaiter = resolve;
    });
  }

  private wakePoller(): void {
    const waiter = this.slotWaiter;
    this.slotWaiter = null;
    waiter?.();
  }

  private dispatch(raw: Message): void {
    const message: ReceivedMessage = {
      messageId: raw.MessageId ?? '?',
      receiveCount: Number(raw.Attributes?.ApproximateReceiveCount ?? '1'),
    };
    const entry: InFlight = { message, receiptHandle: raw.ReceiptHandle ?? '', stopHeartbeat: () => {} };
    const task = this.process(raw, entry)
      // process() handles its own failures; this only catches a throwing hook.
      .catch((error: unknown) =>
        this.log.error({ queueUrl: this.queueUrl, ...message, err: String(error) }, 'hook failed'),
      )
      .finally(() => {
        this.inFlight.delete(task);
        this.wakePoller();
      });
    this.inFlight.set(task, entry);
  }

  private async process(raw: Message, entry: InFlight): Promise<void> {
    const { message } = entry;
    const decoded = decodeEnvelope(raw.Body);
    if (!decoded.ok) {
      // Not deleted: after maxReceiveCount receives SQS moves it to the DLQ, intact, for a person to see.
      this.log.error(
        { queueUrl: this.queueUrl, ...message, code: decoded.error.code, err: decoded.error.message },
        'invalid message left for the dead-letter queue',
      );
      this.hooks.onError?.(decoded.error, {
        stage: 'decode',
        code: decoded.error.code,
        transient: false,
        message,
      });
      if (this.onInvalidMessage !== undefined) {
        await this.onInvalidMessage(raw.Body, message, decoded.error).catch((error: unknown) =>
          this.log.error(
            {
              queueUrl: this.queueUrl,
              ...message,
              err: error instanceof Error ? error.message : String(error),
            },
            'invalid-message handler failed',
          ),
        );
      }
      if (this.invalidRetryDelay !== null) await this.changeVisibility(entry, this.invalidRetryDelay);
      return;
    }
    const envelope = decoded.envelope;
    const fields = {
      queueUrl: this.queueUrl,
      ...message,
      eventId: envelope.id,
      type: envelope.type,
      correlationId: envelope.correlationId,
    };
    entry.stopHeartbeat = this.startHeartbeat(entry);
    try {
      await this.handler(envelope, message);
    } catch (error) {
      entry.stopHeartbeat();
      const code = error instanceof ReconError ? error.code : 'INTERNAL';
      const transient = error instanceof ReconError && error.transient;
      this.log.error(
        { ...fields, code, transient, err: error instanceof Error ? error.message : String(error) },
        'handler failed; the message will be redelivered',
      );
      this.hooks.onError?.(error, { stage: 'handler', code, transient, message, envelope });
      if (error instanceof RetryLaterError) {
        await this.changeVisibility(entry, error.delaySeconds);
      } else if (transient && this.transientDelay !== null) {
        await this.changeVisibility(
          entry,
          Math.max(0, Math.round(this.transientDelay(message.receiveCount))),
        );
      }
      return;
    }
    entry.stopHeartbeat();
    try {
      await this.deleter.delete(entry.receiptHandle);
    } catch (error) {
      const wrapped = toReconError(error, `deleting message ${message.messageId}`);
      this.log.error(
        { ...fields, code: wrapped.code, err: wrapped.message },
        'handled but not deleted; it will be redelivered (handlers are idempotent)',
      );
      this.hooks.onError?.(wrapped, {
        stage: 'delete',
        code: wrapped.code,
        transient: wrapped.transient,
        message,
        envelope,
      });
      return;
    }
    this.hooks.onHandled?.(envelope, message);
  }

  /** Keeps extending the message's visibility while its handler runs; returns the stop function. */
  private startHeartbeat(entry: InFlight): () => void {
    if (this.heartbeatMs === null) return () => {};
    let stopped = false;
    let timer: NodeJS.Timeout;
    const beat = async () => {
      if (stopped) return;
      try {
        await this.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.queueUrl,
            ReceiptHandle: entry.receiptHandle,
            VisibilityTimeout: this.visibilityTimeout,
          }),
        );
        if (!stopped) this.hooks.onVisibilityExtended?.(entry.message);
      } catch (error) {
        // The handler finished meanwhile (and the message may be deleted): nothing to report.
        if (stopped) return;
        const wrapped = toReconError(error, `extending the visibility of message ${entry.message.messageId}`);
        this.log.warn(
          { queueUrl: this.queueUrl, ...entry.message, code: wrapped.code, err: wrapped.message },
          wrapped.message,
        );
        this.hooks.onError?.(wrapped, {
          stage: 'visibility',
          code: wrapped.code,
          transient: wrapped.transient,
          message: entry.message,
        });
      }
      if (!stopped) timer = setTimeout(beat, this.heartbeatMs!);
    };
    timer = setTimeout(beat, this.heartbeatMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private async changeVisibility(entry: InFlight, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: entry.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      const wrapped = toReconError(error, `changing the visibility of message ${entry.message.messageId}`);
      this.log.warn({ queueUrl: this.queueUrl, ...entry.message, code: wrapped.code }, wrapped.message);
      this.hooks.onError?.(wrapped, {
        stage: 'visibility',
        code: wrapped.code,
        transient: wrapped.transient,
        message: entry.message,
      });
    }
  }

  private async release(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    } catch (error) {
      const wrapped = toReconError(error, `releasing ${messages.length} unstarted message(s)`);
      this.log.warn({ queueUrl: this.queueUrl, code: wrapped.code }, wrapped.message);
    }
  }
}

/**
 * Groups deletes into DeleteMessageBatch calls: a batch is sent when it holds 10 receipt handles
 * or when the window since its first entry has passed, whichever comes first.
 */
class DeleteBatcher {
  private pending: { receiptHandle: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly windowMs: number,
  ) {}

  delete(receiptHandle: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ receiptHandle, resolve, reject });
      if (this.pending.length >= 10) this.send();
      else this.timer ??= setTimeout(() => this.send(), this.windowMs);
    });
  }

  /** Sends what is pending and waits for every delete sent so far. */
  async flush(): Promise<void> {
    this.send();
    await Promise.allSettled([...this.sending]);
  }

  private send(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, 10);
    if (this.pending.length > 0) this.timer = setTimeout(() => this.send(), 0);
    const request = this.client
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((b, i) => ({ Id: String(i), ReceiptHandle: b.receiptHandle })),
        }),
      )
      .then((out) => {
        const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
        batch.forEach((b, i) => {
          const failure = failed.get(String(i));
          if (failure === undefined) b.resolve();
          else
            b.reject(
              new ReconError('INTERNAL', `DeleteMessageBatch: ${failure.Code} ${failure.Message ?? ''}`),
            );
        });
      })
      .catch((error: unknown) => {
        for (const b of batch) b.reject(error);
      })
      .finally(() => this.sending.delete(request));
    this.sending.add(request);
  }
}

function atLeast1(n: number): number {
  return Math.max(1, Math.floor(n));
}
