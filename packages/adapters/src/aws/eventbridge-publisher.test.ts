import { EnvelopeSchema, type EventPayload, ReconError } from '@recon/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBridgeClient } from './clients.ts';
import { EventBridgePublisher, EventPublishError } from './eventbridge-publisher.ts';
import { closeServer, listenLocal } from './testing.ts';

/**
 * EventBridge has no local emulator here, so these tests stand up a plain HTTP server that speaks
 * the PutEvents wire protocol (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`) to the real SDK
 * client, records every request and answers with scripted per-entry failures.
 */

const JOB = 'JOB-20240315-000042';

interface RecordedEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
  /** The envelope id inside Detail. */
  id: string;
}

type Script = (id: string, attempt: number) => { ErrorCode: string; ErrorMessage: string } | undefined;

interface FakeEventBridge {
  requests: { target: string | undefined; entries: RecordedEntry[] }[];
  attempts: Map<string, number>;
  client: ReturnType<typeof createEventBridgeClient>;
  close(): Promise<void>;
}

const running: FakeEventBridge[] = [];
afterEach(async () => {
  for (const fake of running.splice(0)) await fake.close();
});

async function fakeEventBridge(
  script: Script,
  options: { failRequests?: number } = {},
): Promise<FakeEventBridge> {
  const requests: FakeEventBridge['requests'] = [];
  const attempts = new Map<string, number>();
  let requestsToFail = options.failRequests ?? 0;
  const { server, origin } = await listenLocal((req, body, res) => {
    const target = req.headers['x-amz-target'] as string | undefined;
    const json = JSON.parse(body.toString('utf8')) as { Entries: Omit<RecordedEntry, 'id'>[] };
    const entries = json.Entries.map((e) => ({ ...e, id: (JSON.parse(e.Detail) as { id: string }).id }));
    requests.push({ target, entries });
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    if (requestsToFail > 0) {
      requestsToFail--;
      res.statusCode = 500;
      res.end(JSON.stringify({ __type: 'InternalException', message: 'scripted outage' }));
      return;
    }
    const results = entries.map((e) => {
      const attempt = (attempts.get(e.id) ?? 0) + 1;
      attempts.set(e.id, attempt);
      return script(e.id, attempt) ?? { EventId: `evt-${e.id}-${attempt}` };
    });
    res.end(
      JSON.stringify({ FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results }),
    );
  });
  const client = createEventBridgeClient({
    region: 'us-east-1',
    endpoint: origin,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1, // our own entry-level retries are under test, not the SDK's
  });
  const fake: FakeEventBridge = {
    requests,
    attempts,
    client,
    async close() {
      client.destroy();
      server.closeAllConnections();
      await closeServer(server);
    },
  };
  running.push(fake);
  return fake;
}

function publisher(fake: FakeEventBridge, maxAttempts = 4) {
  return new EventBridgePublisher({
    client: fake.client,
    eventBusName: 'recon-bus',
    producedBy: 'partition',
    clock: { now: () => new Date('2024-03-15T10:00:00.000Z') },
    retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 },
  });
}

function shardReady(shard: number): EventPayload<'shard.ready'> {
  return { jobId: JOB, shard, shardCount: 23, scope: 'all', window: null, vendorParts: [], baseParts: [] };
}

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'shard.ready' as const,
    id: `e${i}`,
    payload: shardReady(i),
  }));

describe('EventBridgePublisher', () => {
  it('sends 23 events in requests of at most 10 and retries only the entries that failed', async () => {
    const flaky = new Map([
      ['e3', 'ThrottlingException'],
      ['e7', 'InternalFailure'],
      ['e21', 'ThrottlingException'],
    ]);
    const fake = await fakeEventBridge((id, attempt) => {
      const code = flaky.get(id);
      return code !== undefined && attempt === 1 ? { ErrorCode: code, ErrorMessage: 'scripted' } : undefined;
    });
    await publisher(fake).publishMany(events(23));

    expect(fake.requests.every((r) => r.target === 'AWSEvents.PutEvents')).toBe(true);
    const sizes = fake.requests.map((r) => r.entries.length);
    expect(sizes.every((n) => n <= 10)).toBe(true);
    expect(sizes.slice(0, 3).sort((a, b) => a - b)).toEqual([3, 10, 10]);
    // the fourth and last request carries exactly the three failed entries
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests[3]!.entries.map((e) => e.id).sort()).toEqual(['e21', 'e3', 'e7']);
    expect([...fake.attempts.values()].reduce((a, b) => a + b)).toBe(26);

    const first = fake.requests.flatMap((r) => r.entries).find((e) => e.id === 'e0')!;
    expect(first).toMatchObject({ EventBusName: 'recon-bus', Source: 'recon', DetailType: 'shard.ready' });
    const envelope = EnvelopeSchema.parse(JSON.parse(first.Detail));
    expect(envelope).toMatchObject({
      id: 'e0',
      type: 'shard.ready',
      producedBy: 'partition',
      correlationId: JOB,
      occurredAt: '2024-03-15T10:00:00.000Z',
      payload: shardReady(0),
    });
  });

  it('gives up after the maximum attempts and lists what still failed', async () => {
    const fake = await fakeEventBridge((id) => {
      if (id === 'e5') return { ErrorCode: 'InternalFailure', ErrorMessage: 'still broken' };
      if (id === 'e9') return { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad detail' };
      return undefined;
    });
    const error = await publisher(fake, 3)
      .publishMany(events(12))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventPublishError);
    const failure = error as EventPublishError;
    expect(failure.code).toBe('INTERNAL');
    expect([...failure.failures].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'e5', type: 'shard.ready', code: 'InternalFailure', message: 'still broken' },
      { id: 'e9', type: 'shard.ready', code: 'MalformedDetail', message: 'bad detail' },
    ]);
    expect(failure.message).toContain('2 of 12 event(s)');
    expect(failure.message).toContain('e5 (shard.ready): InternalFailure');
    expect(failure.message).toContain('e9 (shard.ready): MalformedDetail');
    expect(failure.transient).toBe(false); // MalformedDetail will never succeed
    // a retryable failure is tried maxAttempts times, a permanent one once; the rest once
    expect(fake.attempts.get('e5')).toBe(3);
    expect(fake.attempts.get('e9')).toBe(1);
    expect(fake.attempts.get('e0')).toBe(1);
    expect(fake.requests.map((r) => r.entries.length)).toEqual(expect.arrayContaining([10, 2, 1, 1]));
  });

  it('sends the whole batch again when the request itself failed', async () => {
    const fake = await fakeEventBridge(() => undefined, { failRequests: 1 });
    await publisher(fake).publish('matching.completed', 'm1', { jobId: JOB });
    expect(fake.requests.map((r) => r.entries.map((e) => e.id))).toEqual([['m1'], ['m1']]);
  });

  it('refuses an invalid payload before sending anything', async () => {
    const fake = await fakeEventBridge(() => undefined);
    const error = await publisher(fake)
      .publishMany([
        ...events(3),
        { type: 'shard.ready', id: 'bad', payload: { ...shardReady(1), shardCount: 0 } },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).code).toBe('INVALID_MESSAGE');
    expect(fake.requests).toEqual([]);
  });
});
