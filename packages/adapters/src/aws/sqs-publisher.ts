import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type Clock,
  type Envelope,
  type EventPublisher,
  type EventType,
  type QueueName,
  ReconError,
  ROUTES,
} from '@recon/contracts';
import { DEFAULT_RETRY, type EntryFailure, type RetryPolicy, sendWithRetries } from './batches.ts';
import { createEnvelope, type EventToPublish } from './envelope.ts';
import { awsErrorName, isTransientAwsError, toReconError } from './errors.ts';

export interface SqsPublisherOptions {
  client: SQSClient;
  /** The URL of every queue of the route table. */
  queueUrls: Readonly<Record<QueueName, string>>;
  /** The service that publishes (the envelope's `producedBy`). */
  producedBy: string;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
}

/** SendMessageBatch: 10 entries; the payload limit is kept at the historical 256 KiB. */
const SQS_LIMITS = { maxEntries: 10, maxBytes: 256 * 1024 };

interface Outgoing {
  queue: QueueName;
  envelope: Envelope;
  body: string;
}

/**
 * Publishes events straight to SQS, routing with the route table of `@recon/contracts`: the local
 * distributed runtime (no EventBridge emulator) and a deployment without EventBridge use it.
 * Each message body is the envelope JSON; message attributes repeat type, schemaVersion,
 * correlationId and id so they can be filtered or inspected without parsing the body.
 */
export class SqsPublisher implements EventPublisher {
  private readonly client: SQSClient;
  private readonly queueUrls: Readonly<Record<QueueName, string>>;
  private readonly producedBy: string;
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;

  constructor(options: SqsPublisherOptions) {
    this.client = options.client;
    this.queueUrls = options.queueUrls;
    this.producedBy = options.producedBy;
    this.clock = options.clock ?? { now: () => new Date() };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Validates, wraps and sends one event (SendMessage) to every queue its route names. */
  async publish<T extends EventType>(type: T, id: string, payload: Envelope<T>['payload']): Promise<void> {
    const envelope = createEnvelope(
      { type, id, payload } as EventToPublish,
      this.producedBy,
      this.clock.now(),
    );
    const body = JSON.stringify(envelope);
    await Promise.all(
      ROUTES[envelope.type].map(async (queue) => {
        try {
          await this.client.send(
            new SendMessageCommand({
              QueueUrl: this.queueUrls[queue],
              MessageBody: body,
              MessageAttributes: sqsMessageAttributes(envelope),
            }),
          );
        } catch (error) {
          throw toReconError(error, `sending ${envelope.type} (${envelope.id}) to the ${queue} queue`);
        }
      }),
    );
  }

  /** Publishes several events with SendMessageBatch (10 per request, one request per queue). */
  async publishMany(events: readonly EventToPublish[]): Promise<void> {
    const now = this.clock.now();
    const outgoing: Outgoing[] = [];
    for (const event of events) {
      const envelope = createEnvelope(event, this.producedBy, now);
      const body = JSON.stringify(envelope);
      for (const queue of ROUTES[envelope.type]) outgoing.push({ queue, envelope, body });
    }
    const byQueue = new Map<QueueName, Outgoing[]>();
    for (const o of outgoing) {
      const list = byQueue.get(o.queue);
      if (list === undefined) byQueue.set(o.queue, [o]);
      else list.push(o);
    }
    const failures: EntryFailure<Outgoing>[] = [];
    await Promise.all(
      [...byQueue].map(async ([queue, entries]) => {
        failures.push(...(await this.sendToQueue(queue, entries)));
      }),
    );
    if (failures.length > 0) {
      const listed = failures
        .slice(0, 10)
        .map(
          (f) =>
            `${f.entry.envelope.id} (${f.entry.envelope.type} → ${f.entry.queue}): ${f.code} ${f.message}`,
        )
        .join('; ');
      throw new ReconError(
        'INTERNAL',
        `${failures.length} of ${outgoing.length} message(s) could not be sent to SQS: ${listed}`,
        { transient: failures.every((f) => f.retryable) },
      );
    }
  }

  private sendToQueue(queue: QueueName, entries: Outgoing[]): Promise<EntryFailure<Outgoing>[]> {
    const queueUrl = this.queueUrls[queue];
    return sendWithRetries(
      entries,
      { ...SQS_LIMITS, sizeOf: (o) => Buffer.byteLength(o.body) + 200 },
      this.retry,
      async (batch) => {
        const out = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map(
              (o, i): SendMessageBatchRequestEntry => ({
                Id: String(i),
                MessageBody: o.body,
                MessageAttributes: sqsMessageAttributes(o.envelope),
              }),
            ),
          }),
        );
        return (out.Failed ?? []).map((failed) => ({
          entry: batch[Number(failed.Id)]!,
          code: failed.Code ?? 'Unknown',
          message: failed.Message ?? '',
          // SenderFault: the request itself is wrong (too big, bad characters); resending will not help.
          retryable: failed.SenderFault !== true,
        }));
      },
      (error) => ({
        code: awsErrorName(error),
        message: error instanceof Error ? error.message : String(error),
        retryable: isTransientAwsError(error),
      }),
    );
  }
}

export function sqsMessageAttributes(envelope: Envelope): Record<string, MessageAttributeValue> {
  return {
    type: { DataType: 'String', StringValue: envelope.type },
    schemaVersion: { DataType: 'Number', StringValue: String(envelope.schemaVersion) },
    correlationId: { DataType: 'String', StringValue: envelope.correlationId },
    eventId: { DataType: 'String', StringValue: envelope.id },
  };
}
