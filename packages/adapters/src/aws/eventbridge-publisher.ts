import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { type Clock, type Envelope, type EventPublisher, type EventType, ReconError } from '@recon/contracts';
import { DEFAULT_RETRY, type EntryFailure, type RetryPolicy, sendWithRetries } from './batches.ts';
import { createEnvelope, type EventToPublish } from './envelope.ts';
import { awsErrorName, isTransientAwsError } from './errors.ts';

/** The `source` of every recon event: EventBridge rules match on it and on `detail-type`. */
export const EVENT_SOURCE = 'recon';

export interface EventBridgePublisherOptions {
  client: EventBridgeClient;
  /** Name (or ARN) of the event bus. */
  eventBusName: string;
  producedBy: string;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
}

/** PutEvents: at most 10 entries and 256 KiB per request. */
const PUT_EVENTS_LIMITS = { maxEntries: 10, maxBytes: 256 * 1024 };

/** Per-entry error codes that resending the same entry cannot fix. */
const PERMANENT_ENTRY_ERRORS = new Set(['MalformedDetail', 'InvalidArgument', 'ValidationException']);

export interface PublishFailure {
  id: string;
  type: EventType;
  code: string;
  message: string;
}

/** Some events could not be published; `failures` lists each with the last error seen. */
export class EventPublishError extends ReconError {
  override name = 'EventPublishError';
  readonly failures: readonly PublishFailure[];

  constructor(message: string, failures: PublishFailure[], transient: boolean) {
    super('INTERNAL', message, { transient });
    this.failures = failures;
  }
}

interface Outgoing {
  envelope: Envelope;
  entry: PutEventsRequestEntry;
}

/**
 * Publishes events to an EventBridge bus: `Source` 'recon', `DetailType` the event type, `Detail`
 * the envelope JSON. The CDK app turns the route table into rules that match `detail-type` and
 * target each queue with InputPath `$.detail`, so queue bodies are the envelope itself.
 * PutEvents answers per entry: only failed entries are sent again, with bounded attempts.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly producedBy: string;
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;

  constructor(options: EventBridgePublisherOptions) {
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.producedBy = options.producedBy;
    this.clock = options.clock ?? { now: () => new Date() };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async publish<T extends EventType>(type: T, id: string, payload: Envelope<T>['payload']): Promise<void> {
    await this.publishMany([{ type, id, payload } as EventToPublish]);
  }

  /** Validates every event first (nothing is sent if one is invalid), then sends in batches of ≤ 10. */
  async publishMany(events: readonly EventToPublish[]): Promise<void> {
    const now = this.clock.now();
    const outgoing: Outgoing[] = events.map((event) => {
      const envelope = createEnvelope(event, this.producedBy, now);
      return {
        envelope,
        entry: {
          EventBusName: this.eventBusName,
          Source: EVENT_SOURCE,
          DetailType: envelope.type,
          Detail: JSON.stringify(envelope),
          Time: now,
        },
      };
    });
    const failures = await sendWithRetries(
      outgoing,
      { ...PUT_EVENTS_LIMITS, sizeOf: entrySize },
      this.retry,
      (batch) => this.put(batch),
      (error) => ({
        code: awsErrorName(error),
        message: error instanceof Error ? error.message : String(error),
        retryable: isTransientAwsError(error),
      }),
    );
    if (failures.length > 0) throw this.failure(failures, outgoing.length);
  }

  private async put(batch: Outgoing[]): Promise<EntryFailure<Outgoing>[]> {
    const oversized = batch.filter((o) => entrySize(o) > PUT_EVENTS_LIMITS.maxBytes);
    const sendable = batch.filter((o) => entrySize(o) <= PUT_EVENTS_LIMITS.maxBytes);
    const failures: EntryFailure<Outgoing>[] = oversized.map((entry) => ({
      entry,
      code: 'EntryTooLarge',
      message: `the event is ${entrySize(entry)} bytes; PutEvents accepts at most 256 KiB`,
      retryable: false,
    }));
    if (sendable.length === 0) return failures;
    const out = await this.client.send(new PutEventsCommand({ Entries: sendable.map((o) => o.entry) }));
    if ((out.FailedEntryCount ?? 0) === 0) return failures;
    // The result entries are in request order; a failed one carries ErrorCode instead of EventId.
    (out.Entries ?? []).forEach((result, i) => {
      const entry = sendable[i];
      if (entry === undefined || result.ErrorCode === undefined) return;
      failures.push({
        entry,
        code: result.ErrorCode,
        message: result.ErrorMessage ?? '',
        retryable: !PERMANENT_ENTRY_ERRORS.has(result.ErrorCode),
      });
    });
    return failures;
  }

  private failure(failures: EntryFailure<Outgoing>[], total: number): EventPublishError {
    const list: PublishFailure[] = failures.map((f) => ({
      id: f.entry.envelope.id,
      type: f.entry.envelope.type,
      code: f.code,
      message: f.message,
    }));
    const shown = list
      .slice(0, 10)
      .map((f) => `${f.id} (${f.type}): ${f.code}${f.message === '' ? '' : ` ${f.message}`}`)
      .join('; ');
    const more = list.length > 10 ? `; and ${list.length - 10} more` : '';
    return new EventPublishError(
      `${list.length} of ${total} event(s) could not be published to EventBridge bus ${this.eventBusName} ` +
        `after ${this.retry.maxAttempts} attempt(s): ${shown}${more}`,
      list,
      failures.every((f) => f.retryable),
    );
  }
}

/** The size EventBridge counts for an entry (Time is 14 bytes). */
function entrySize(o: Outgoing): number {
  const e = o.entry;
  return (
    14 +
    Buffer.byteLength(e.Source ?? '') +
    Buffer.byteLength(e.DetailType ?? '') +
    Buffer.byteLength(e.Detail ?? '')
  );
}
