import {
  type Clock,
  correlationIdOf,
  type Envelope,
  EVENT_SCHEMAS,
  type EventPublisher,
  type EventType,
  type QueueName,
  ReconError,
  ROUTES,
  SCHEMA_VERSION,
} from '@recon/contracts';

/** Something that handles the messages of one queue (in this thread, or on a worker pool). */
export interface QueueConsumer {
  /** How many messages of this queue may be in flight at once. */
  readonly concurrency: number;
  deliver(envelope: Envelope): Promise<void>;
}

export type DeliveryFailure = (queue: QueueName, envelope: Envelope, error: unknown) => Promise<void>;

interface QueueState {
  consumer: QueueConsumer;
  pending: Envelope[];
  running: number;
}

/**
 * The event bus of the embedded runtime: routes each published event to its queues with the route
 * table of `@recon/contracts`, validating payloads with the same schemas the SQS runtime uses.
 */
export class InProcessBus {
  private readonly queues = new Map<QueueName, QueueState>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly onFailure: DeliveryFailure;

  constructor(options: { clock: Clock; onFailure: DeliveryFailure }) {
    this.clock = options.clock;
    this.onFailure = options.onFailure;
  }

  register(queue: QueueName, consumer: QueueConsumer): void {
    this.queues.set(queue, { consumer, pending: [], running: 0 });
  }

  publisher(producedBy: string): EventPublisher {
    return {
      publish: async (type, id, payload) => this.publish(producedBy, type, id, payload),
    };
  }

  /** Validates and routes one event; returns once it is queued (not handled). */
  publish<T extends EventType>(
    producedBy: string,
    type: T,
    id: string,
    payload: Envelope<T>['payload'],
  ): void {
    const parsed = EVENT_SCHEMAS[type].safeParse(payload);
    if (!parsed.success) {
      throw new ReconError(
        'INVALID_MESSAGE',
        `event ${type} (${id}) does not match its schema: ${parsed.error.message}`,
      );
    }
    const envelope: Envelope = {
      id,
      type,
      schemaVersion: SCHEMA_VERSION,
      occurredAt: this.clock.now().toISOString(),
      producedBy,
      correlationId: correlationIdOf(parsed.data),
      payload: parsed.data,
    };
    for (const queue of ROUTES[type]) {
      const state = this.queues.get(queue);
      if (state === undefined) continue;
      state.pending.push(envelope);
      this.inFlight++;
      this.pump(queue, state);
    }
  }

  /** Delivers an envelope again to one queue (a retry after a transient failure), unchanged. */
  redeliver(queue: QueueName, envelope: Envelope): void {
    const state = this.queues.get(queue);
    if (state === undefined) throw new Error(`no consumer for queue ${queue}`);
    state.pending.push(envelope);
    this.inFlight++;
    this.pump(queue, state);
  }

  /** Whether any message is queued or being handled. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Resolves once no message is queued or being handled. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(queue: QueueName, state: QueueState): void {
    while (state.running < state.consumer.concurrency && state.pending.length > 0) {
      const envelope = state.pending.shift()!;
      state.running++;
      state.consumer
        .deliver(envelope)
        .catch((error: unknown) => this.onFailure(queue, envelope, error))
        .catch(() => undefined)
        .finally(() => {
          state.running--;
          this.inFlight--;
          this.pump(queue, state);
          if (this.inFlight === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}
