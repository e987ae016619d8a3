import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Envelope, type EventPayload, QUEUES, type QueueName, ReconError } from '@recon/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient } from './clients.ts';
import { type FauxqsHarness, startFauxqsHarness } from './fauxqs.ts';
import { ensureQueueWithDlq, ensureReconQueues, type QueueSettings, queueUrlsOf } from './provision.ts';
import {
  type ConsumerErrorInfo,
  SqsConsumer,
  type SqsConsumerOptions,
  type StopResult,
} from './sqs-consumer.ts';
import { SqsPublisher } from './sqs-publisher.ts';
import { deferred, recordingLogger, Signal, withTimeout } from './testing.ts';

const JOB = 'JOB-20240315-000042';
const fixedClock = { now: () => new Date('2024-03-15T10:00:00.000Z') };

let h: FauxqsHarness;
const cleanup: (() => unknown)[] = [];
let queueCounter = 0;

beforeAll(async () => {
  h = await startFauxqsHarness();
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

afterAll(async () => {
  await h?.stop();
});

function shardReady(shard: number, shardCount = 25): EventPayload<'shard.ready'> {
  return { jobId: JOB, shard, shardCount, scope: 'all', window: null, vendorParts: [], baseParts: [] };
}

/** A fresh queue + DLQ per test (an aborted long poll can keep a dead receive pending in fauxqs). */
async function testQueue(settings: QueueSettings = {}) {
  const name = `q${++queueCounter}`;
  const queue = await ensureQueueWithDlq(h.sqs, name, settings);
  // every route goes to this one queue; tests publish single-route events
  const queueUrls = Object.fromEntries(QUEUES.map((q) => [q, queue.queueUrl])) as Record<QueueName, string>;
  const publisher = new SqsPublisher({ client: h.sqs, queueUrls, producedBy: 'test', clock: fixedClock });
  return { name, ...queue, publisher };
}

/** A client of its own that counts commands and remembers each ReceiveMessage's batch size. */
function countingClient() {
  const client = createSqsClient(h.connection);
  const calls = new Map<string, number>();
  const receiveSizes: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      calls.set(name, (calls.get(name) ?? 0) + 1);
      if (name === 'ReceiveMessageCommand') {
        receiveSizes.push((args.input as { MaxNumberOfMessages: number }).MaxNumberOfMessages);
      }
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  cleanup.push(() => client.destroy());
  return { client, calls, receiveSizes };
}

interface Recorded {
  handled: Envelope[];
  receiveCounts: number[];
  errors: { error: unknown; info: ConsumerErrorInfo }[];
  extended: number;
  received: number;
  signal: Signal;
}

function consumer(
  queueUrl: string,
  handler: SqsConsumerOptions['handler'],
  options: Partial<SqsConsumerOptions> & { client?: SQSClient } = {},
) {
  const rec: Recorded = {
    handled: [],
    receiveCounts: [],
    errors: [],
    extended: 0,
    received: 0,
    signal: new Signal(),
  };
  const log = recordingLogger();
  const { hooks, ...rest } = options;
  const c = new SqsConsumer({
    client: h.sqs,
    queueUrl,
    handler,
    log,
    ...rest,
    hooks: {
      ...hooks,
      onHandled(envelope, message) {
        rec.handled.push(envelope);
        rec.receiveCounts.push(message.receiveCount);
        hooks?.onHandled?.(envelope, message);
        rec.signal.notify();
      },
      onError(error, info) {
        rec.errors.push({ error, info });
        hooks?.onError?.(error, info);
        rec.signal.notify();
      },
      onVisibilityExtended(message) {
        rec.extended++;
        hooks?.onVisibilityExtended?.(message);
        rec.signal.notify();
      },
      onReceived(count) {
        rec.received += count;
        hooks?.onReceived?.(count);
        rec.signal.notify();
      },
    },
  });
  cleanup.push(() => c.stop({ timeoutMs: 1000 }));
  return { consumer: c, rec, log };
}

function queueState(name: string) {
  const state = h.server.inspectQueue(name);
  if (state === undefined) throw new Error(`no queue ${name}`);
  return {
    ready: state.messages.ready.length,
    inflight: state.messages.inflight.length,
    bodies: state.messages.ready.map((m) => m.body),
  };
}

describe('SqsPublisher', () => {
  it('sends each event to every queue its route names, as the envelope with typed attributes', async () => {
    const queues = await ensureReconQueues(h.sqs, { prefix: 'routing-' });
    const publisher = new SqsPublisher({
      client: h.sqs,
      queueUrls: queueUrlsOf(queues),
      producedBy: 'reporter',
      clock: fixedClock,
    });
    const payload = {
      jobId: JOB,
      status: 'FAILED',
      stage: 'ingest',
      code: 'FILE_EMPTY',
      message: 'empty',
    } as const;
    await publisher.publish('job.failed', 'job.failed:1', payload);

    const counts = Object.fromEntries(QUEUES.map((q) => [q, queueState(`routing-${q}`).ready]));
    expect(counts).toEqual({ ingest: 0, partition: 0, matcher: 0, reporter: 1, notifier: 1 });

    const sent = await h.server.spy.waitForMessage(
      { service: 'sqs', queueName: 'routing-notifier' },
      'published',
      5000,
    );
    if (sent.service !== 'sqs') throw new Error('expected an SQS message');
    expect(JSON.parse(sent.body)).toEqual({
      id: 'job.failed:1',
      type: 'job.failed',
      schemaVersion: 1,
      occurredAt: '2024-03-15T10:00:00.000Z',
      producedBy: 'reporter',
      correlationId: JOB,
      payload,
    });
    expect(sent.messageAttributes).toMatchObject({
      type: { DataType: 'String', StringValue: 'job.failed' },
      schemaVersion: { DataType: 'Number', StringValue: '1' },
      correlationId: { DataType: 'String', StringValue: JOB },
      eventId: { DataType: 'String', StringValue: 'job.failed:1' },
    });
  });

  it('refuses a payload that does not match its schema, sending nothing', async () => {
    const q = await testQueue();
    const bad = { ...shardReady(1), shard: -1 };
    const error = await q.publisher.publish('shard.ready', 'bad', bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).code).toBe('INVALID_MESSAGE');
    expect(queueState(q.name).ready).toBe(0);
  });
});

describe('SqsConsumer', () => {
  it('handles a published event once, then deletes it', async () => {
    const q = await testQueue();
    const { consumer: c, rec } = consumer(q.queueUrl, async () => {});
    c.start();
    await q.publisher.publish('shard.ready', 'shard.ready:7', shardReady(7));
    await rec.signal.until(() => rec.handled.length === 1, 10_000, 'the event to be handled');

    expect(rec.handled[0]).toMatchObject({
      id: 'shard.ready:7',
      type: 'shard.ready',
      correlationId: JOB,
      payload: shardReady(7),
    });
    expect(rec.receiveCounts).toEqual([1]);
    expect(rec.errors).toEqual([]);
    await h.server.spy.waitForMessage({ service: 'sqs', queueName: q.name }, 'consumed', 5000);
    expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });
    expect((await c.stop()).drained).toBe(true);
    expect(rec.handled).toHaveLength(1);
  });

  it('handles a batch of 25 with bounded concurrency and batched deletes', async () => {
    const q = await testQueue();
    const { client, calls, receiveSizes } = countingClient();
    await q.publisher.publishMany(
      Array.from({ length: 25 }, (_, i) => ({
        type: 'shard.ready' as const,
        id: `s${i}`,
        payload: shardReady(i),
      })),
    );
    expect(queueState(q.name).ready).toBe(25);

    let running = 0;
    let maxRunning = 0;
    const { consumer: c, rec } = consumer(
      q.queueUrl,
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // some asynchronous work, so handlers overlap
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        running--;
      },
      { client, concurrency: 5 },
    );
    c.start();
    await rec.signal.until(() => rec.handled.length === 25, 20_000, '25 events handled');
    await c.stop();

    const ids = rec.handled.map((e) => e.id).sort();
    expect(new Set(ids).size).toBe(25);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`).sort());
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(5);
    expect(Math.max(...receiveSizes)).toBeLessThanOrEqual(5);
    expect(calls.get('DeleteMessageCommand')).toBeUndefined();
    expect(calls.get('DeleteMessageBatchCommand')).toBeGreaterThanOrEqual(1);
    expect(calls.get('DeleteMessageBatchCommand')).toBeLessThan(25);
    expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });
  });

  it('retries a handler that throws twice (after the visibility timeout), then deletes the message', async () => {
    const q = await testQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    let attempts = 0;
    const { consumer: c, rec } = consumer(
      q.queueUrl,
      async () => {
        attempts++;
        if (attempts <= 2) throw new Error(`boom ${attempts}`);
      },
      { visibilityTimeoutSeconds: 1, waitTimeSeconds: 1 },
    );
    c.start();
    await q.publisher.publish('shard.ready', 'retry-me', shardReady(1));
    await rec.signal.until(() => rec.handled.length === 1, 15_000, 'the third attempt to succeed');

    expect(attempts).toBe(3);
    expect(rec.errors.map((e) => [e.info.stage, e.info.code, e.info.message?.receiveCount])).toEqual([
      ['handler', 'INTERNAL', 1],
      ['handler', 'INTERNAL', 2],
    ]);
    expect(rec.receiveCounts).toEqual([3]);
    await c.stop();
    expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });
    expect(queueState(`${q.name}-dlq`).ready).toBe(0);
  });

  it('releases a message at once when its handler fails with a transient error', async () => {
    // a 30 s visibility timeout: without the release, the retries would not happen within the wait
    const q = await testQueue({ visibilityTimeoutSeconds: 30 });
    let attempts = 0;
    const { consumer: c, rec } = consumer(
      q.queueUrl,
      async () => {
        attempts++;
        if (attempts <= 2)
          throw new ReconError('BASE_UNAVAILABLE', 'database restarting', { transient: true });
      },
      { visibilityTimeoutSeconds: 30, transientRetryDelaySeconds: () => 0 },
    );
    c.start();
    await q.publisher.publish('shard.ready', 'transient', shardReady(1));
    await rec.signal.until(() => rec.handled.length === 1, 10_000, 'the transient failures to be retried');
    expect(attempts).toBe(3);
    expect(rec.errors.map((e) => [e.info.code, e.info.transient])).toEqual([
      ['BASE_UNAVAILABLE', true],
      ['BASE_UNAVAILABLE', true],
    ]);
  });

  it('leaves invalid messages and always-failing ones for the DLQ after maxReceiveCount', async () => {
    const q = await testQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    await h.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: '{"not":"an envelope"}' }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: 'not json at all' }));
    await q.publisher.publish('shard.ready', 'always-fails', shardReady(3));
    const {
      consumer: c,
      rec,
      log,
    } = consumer(
      q.queueUrl,
      async () => {
        throw new ReconError('INTERNAL', 'this handler always fails');
      },
      { visibilityTimeoutSeconds: 1, waitTimeSeconds: 1 },
    );
    c.start();
    await h.server.spy.waitForMessages(
      { service: 'sqs', queueName: q.name },
      { count: 3, status: 'dlq', timeout: 20_000 },
    );
    await c.stop();

    expect(rec.handled).toEqual([]);
    const dlq = queueState(`${q.name}-dlq`);
    expect(dlq.ready).toBe(3);
    expect(dlq.bodies).toEqual(expect.arrayContaining(['{"not":"an envelope"}', 'not json at all']));
    expect(dlq.bodies.some((b) => b.includes('"always-fails"'))).toBe(true);
    expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });

    const byStage = (stage: string) => rec.errors.filter((e) => e.info.stage === stage);
    // each message was received maxReceiveCount (2) times before SQS moved it
    expect(byStage('decode')).toHaveLength(4);
    expect(byStage('decode').every((e) => e.info.code === 'INVALID_MESSAGE' && !e.info.transient)).toBe(true);
    expect(byStage('handler')).toHaveLength(2);
    const invalidLines = log.lines.filter((l) => l.level === 'error' && l.fields.code === 'INVALID_MESSAGE');
    expect(invalidLines).toHaveLength(4);
    expect(invalidLines[0]?.fields).toMatchObject({ queueUrl: q.queueUrl, receiveCount: expect.any(Number) });
  });

  it('accepts a whole EventBridge event as the body (a rule target without InputPath)', async () => {
    const q = await testQueue();
    const envelope = {
      id: 'eb-1',
      type: 'matching.completed',
      schemaVersion: 1,
      occurredAt: '2024-03-15T10:00:00.000Z',
      producedBy: 'matcher',
      correlationId: JOB,
      payload: { jobId: JOB },
    };
    const event = {
      version: '0',
      id: 'x',
      'detail-type': 'matching.completed',
      source: 'recon',
      detail: envelope,
    };
    await h.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(event) }));
    const { consumer: c, rec } = consumer(q.queueUrl, async () => {});
    c.start();
    await rec.signal.until(() => rec.handled.length === 1, 10_000, 'the EventBridge-shaped message');
    expect(rec.handled[0]).toEqual(envelope);
  });

  describe('visibility extension', () => {
    // The slow handler outlives the visibility timeout (2 s) several times over while a second
    // consumer long-polls the same queue.
    async function race(extendVisibility: boolean) {
      const q = await testQueue({ visibilityTimeoutSeconds: 2 });
      const settings = { visibilityTimeoutSeconds: 2, heartbeatFraction: 0.25, waitTimeSeconds: 1 };
      const other = consumer(q.queueUrl, async () => {}, settings);
      const slowDone = deferred();
      const slow = consumer(
        q.queueUrl,
        async () => {
          await (extendVisibility
            ? slow.rec.signal.until(() => slow.rec.extended >= 6, 15_000, 'six extensions (3 s)')
            : other.rec.signal.until(() => other.rec.handled.length === 1, 15_000, 'the other consumer'));
          slowDone.resolve();
        },
        { ...settings, concurrency: 1, extendVisibility },
      );
      await q.publisher.publish('shard.ready', 'slow', shardReady(1));
      slow.consumer.start();
      await slow.rec.signal.until(() => slow.rec.received === 1, 10_000, 'the slow consumer to receive');
      other.consumer.start();
      await withTimeout(slowDone.promise, 20_000, 'the slow handler');
      await slow.rec.signal.until(() => slow.rec.handled.length === 1, 10_000, 'the slow handler to finish');
      await other.consumer.stop();
      await slow.consumer.stop();
      return { slow: slow.rec, other: other.rec, q };
    }

    it('keeps a slow handler’s message from reaching a second consumer', async () => {
      const { slow, other, q } = await race(true);
      expect(slow.extended).toBeGreaterThanOrEqual(6);
      expect(other.received).toBe(0);
      expect(other.handled).toEqual([]);
      expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });
    });

    it('(control) without extension the second consumer gets the same message', async () => {
      const { slow, other } = await race(false);
      expect(slow.extended).toBe(0);
      expect(other.handled.map((e) => e.id)).toEqual(['slow']);
    });
  });

  describe('stop()', () => {
    it('stops receiving, waits for in-flight handlers, then resolves', async () => {
      const q = await testQueue();
      const started = deferred();
      const gate = deferred();
      const pollingStopped = deferred();
      const order: string[] = [];
      const { consumer: c, rec } = consumer(
        q.queueUrl,
        async () => {
          started.resolve();
          await gate.promise;
          order.push('handler done');
        },
        { hooks: { onPollingStopped: () => pollingStopped.resolve() } },
      );
      c.start();
      await q.publisher.publish('shard.ready', 'in-flight', shardReady(1));
      await withTimeout(started.promise, 10_000, 'the handler to start');

      let stopped = false;
      const stopping = c.stop().then((result) => {
        stopped = true;
        order.push('stopped');
        return result;
      });
      await withTimeout(pollingStopped.promise, 5_000, 'the receive loop to end');
      await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false);
      expect(c.inFlightCount).toBe(1);

      gate.resolve();
      expect(await withTimeout(stopping, 10_000, 'stop()')).toEqual({ drained: true, abandoned: 0 });
      expect(order).toEqual(['handler done', 'stopped']);
      expect(rec.handled.map((e) => e.id)).toEqual(['in-flight']);
      expect(queueState(q.name)).toMatchObject({ ready: 0, inflight: 0 });
    });

    it('gives up on a stuck handler after the timeout; its message then reappears for others', async () => {
      const q = await testQueue({ visibilityTimeoutSeconds: 1 });
      const started = deferred();
      const { consumer: stuck } = consumer(
        q.queueUrl,
        async () => {
          started.resolve();
          await new Promise(() => {});
        },
        { visibilityTimeoutSeconds: 1 },
      );
      stuck.start();
      await q.publisher.publish('shard.ready', 'stuck', shardReady(1));
      await withTimeout(started.promise, 10_000, 'the handler to start');
      expect(await stuck.stop({ timeoutMs: 200 })).toEqual({ drained: false, abandoned: 1 });

      const { consumer: next, rec } = consumer(q.queueUrl, async () => {}, { visibilityTimeoutSeconds: 1 });
      next.start();
      await rec.signal.until(
        () => rec.handled.length === 1,
        10_000,
        'the abandoned message to be redelivered',
      );
      expect(rec.receiveCounts).toEqual([2]);
    });

    it('releases messages received but not started when stop() comes first', async () => {
      const q = await testQueue({ visibilityTimeoutSeconds: 30 });
      for (let i = 0; i < 3; i++) await q.publisher.publish('shard.ready', `r${i}`, shardReady(i));
      let handled = 0;
      const stopped = deferred<StopResult>();
      const { consumer: c } = consumer(
        q.queueUrl,
        async () => {
          handled++;
        },
        { hooks: { onReceived: () => stopped.resolve(c.stop()) } },
      );
      c.start();
      expect(await withTimeout(stopped.promise, 10_000, 'stop() after the receive')).toEqual({
        drained: true,
        abandoned: 0,
      });
      expect(handled).toBe(0);
      // visible again at once, not after the 30 s visibility timeout
      expect(queueState(q.name)).toMatchObject({ ready: 3, inflight: 0 });
    });
  });
});
