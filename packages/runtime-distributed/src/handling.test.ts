import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEnvelope,
  createReconLogger,
  InMemoryJobStore,
  LocalFolderStore,
  RetryLaterError,
} from '@recon/adapters';
import { type Envelope, type EventPublisher, ReconError, type ServiceContext } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createInvalidMessageHandler,
  createMessageHandler,
  type QueueHandlers,
  type RetryRecord,
} from './handling.ts';

// Job control of a message's handling (RULES §7), on real in-process parts: the in-memory job
// store (same port semantics as PostgreSQL), a local folder as object store.

let dir: string;
let jobs: InMemoryJobStore;
let published: { type: string; id: string; payload: unknown }[];
let processed: Set<string>;
const retries: RetryRecord[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-handling-'));
  jobs = new InMemoryJobStore();
  published = [];
  processed = new Set();
  retries.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const JOB = 'JOB-20261122-000001';

async function openJob(arrivedAt: Date, status: 'MATCHING' | 'RECEIVED' = 'MATCHING'): Promise<void> {
  const request = jobRequest(JOB, { file: { key: 'f.csv' }, arrivedAt: arrivedAt.toISOString() });
  await jobs.createJob(request, request.arrivedAt);
  await jobs.setStatus(JOB, status, request.arrivedAt);
}

function handlerWith(
  handler: QueueHandlers['shard.ready'],
  options: { deadlineMs?: number; delaysMs?: number[]; maxAttempts?: number } = {},
) {
  const events: EventPublisher = {
    publish: async (type, id, payload) => {
      published.push({ type, id, payload });
    },
  };
  const store = new LocalFolderStore(dir);
  const log = createReconLogger({ level: 'silent' });
  const ctx: ServiceContext & { log: typeof log } = {
    store,
    ingress: store,
    jobs,
    events,
    clock: { now: () => new Date() },
    log,
  };
  return createMessageHandler({
    queue: 'matcher',
    handlers: { 'shard.ready': handler },
    ctx,
    jobs,
    ledger: {
      isProcessed: async (key) => processed.has(key),
      markProcessed: async (key) => {
        const fresh = !processed.has(key);
        processed.add(key);
        return fresh;
      },
    },
    events,
    maxReceiveCount: 5,
    control: {
      deadline: { jobs, store, events, now: () => new Date(), log, deadlineMs: options.deadlineMs ?? 60_000 },
      retry: { delaysMs: options.delaysMs ?? [1_000, 2_000], maxAttempts: options.maxAttempts ?? 3 },
      recordRetry: async (_jobId, record) => {
        retries.push(record);
      },
    },
  });
}

const shard = (): Envelope =>
  createEnvelope(
    {
      type: 'shard.ready',
      id: `shard.ready:${JOB}:1`,
      payload: {
        jobId: JOB,
        shard: 1,
        shardCount: 4,
        scope: 'date-window',
        window: null,
        vendorParts: [],
        baseParts: [],
      },
    },
    'test',
    new Date(),
  ) as Envelope;

const transient = () => {
  throw new ReconError('INTERNAL', 'S3 503 SlowDown', { transient: true });
};

describe('retries of a transient failure', () => {
  it('asks for the message again after the policy’s delay, and records the retry', async () => {
    await openJob(new Date());
    const handle = handlerWith(async () => transient());
    const error = await handle(shard(), { messageId: 'm', receiveCount: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delaySeconds).toBe(2);
    expect(retries).toEqual([
      expect.objectContaining({ stage: 'matcher', event: 'shard.ready', attempt: 2, delay_ms: 2_000 }),
    ]);
    expect((await jobs.getJob(JOB))?.status).toBe('MATCHING');
  });

  it('fails the job once the attempts are spent (3 in all), acknowledging the message', async () => {
    await openJob(new Date());
    const handle = handlerWith(async () => transient());
    await handle(shard(), { messageId: 'm', receiveCount: 3 });
    const job = await jobs.getJob(JOB);
    expect(job?.status).toBe('FAILED');
    expect(job?.error?.message).toMatch(
      /S3 503 SlowDown \(transient; gave up after 3 attempt\(s\): attempts spent\)/,
    );
    expect(published.map((p) => p.type)).toEqual(['job.failed']);
    expect(processed.has(`matcher:shard.ready:${JOB}:1`)).toBe(true);
  });

  it('never schedules a retry that would start past the deadline', async () => {
    await openJob(new Date(), 'MATCHING');
    const handle = handlerWith(async () => transient(), { deadlineMs: 10_000, delaysMs: [60_000] });
    await handle(shard(), { messageId: 'm', receiveCount: 1 });
    const job = await jobs.getJob(JOB);
    expect(job?.status).toBe('FAILED');
    expect(job?.error?.message).toMatch(/would pass the deadline/);
    expect(retries).toEqual([]);
  });

  it('does not retry a permanent failure', async () => {
    await openJob(new Date());
    const handle = handlerWith(async () => {
      throw new ReconError('INVALID_HEADER', 'bad header');
    });
    await handle(shard(), { messageId: 'm', receiveCount: 1 });
    expect((await jobs.getJob(JOB))?.error).toMatchObject({ code: 'INVALID_HEADER', stage: 'matcher' });
    expect(retries).toEqual([]);
  });
});

describe('deadline', () => {
  it('times out a job past its deadline instead of working: TIMEOUT, checkpoint, job.failed', async () => {
    await openJob(new Date(Date.now() - 120_000));
    let ran = false;
    const handle = handlerWith(
      async () => {
        ran = true;
      },
      { deadlineMs: 60_000 },
    );
    await handle(shard(), { messageId: 'm', receiveCount: 1 });
    expect(ran).toBe(false);
    const job = await jobs.getJob(JOB);
    expect(job).toMatchObject({ status: 'TIMEOUT', error: { code: 'DEADLINE_EXCEEDED', stage: 'matching' } });
    const cp = JSON.parse(await readFile(join(dir, 'checkpoints', JOB, 'checkpoint.json'), 'utf8'));
    expect(cp).toMatchObject({
      status: 'TIMEOUT',
      job_id: JOB,
      intermediate_data: { stopped_in: 'MATCHING' },
    });
    expect(published).toEqual([
      expect.objectContaining({
        type: 'job.failed',
        payload: expect.objectContaining({
          status: 'TIMEOUT',
          checkpointKey: `checkpoints/${JOB}/checkpoint.json`,
        }),
      }),
    ]);
    // Again (a redelivery): the job has ended; nothing more happens.
    await handle({ ...shard(), id: `shard.ready:${JOB}:2` }, { messageId: 'n', receiveCount: 1 });
    expect(published).toHaveLength(1);
  });

  it('times the job out while a handler works past the deadline; the handler sees it ended', async () => {
    await openJob(new Date());
    let statusAfter: string | undefined;
    const handle = handlerWith(
      async () => {
        // As a slow shard: the deadline passes meanwhile.
        await new Promise((r) => setTimeout(r, 2_500));
        statusAfter = (await jobs.getJob(JOB))?.status;
      },
      { deadlineMs: 1_000 },
    );
    await handle(shard(), { messageId: 'm', receiveCount: 1 });
    expect(statusAfter).toBe('TIMEOUT');
    expect(published.map((p) => p.type)).toEqual(['job.failed']);
  });

  it('gives no work to a job that was cancelled', async () => {
    await openJob(new Date());
    await jobs.fail(
      JOB,
      'CANCELLED',
      { stage: 'matching', code: 'CANCELLED', message: 'by an operator' },
      'x',
    );
    let ran = false;
    const handle = handlerWith(async () => {
      ran = true;
    });
    await handle(shard(), { messageId: 'm', receiveCount: 1 });
    expect(ran).toBe(false);
    expect(processed.has(`matcher:shard.ready:${JOB}:1`)).toBe(true);
  });
});

describe('a message that does not decode', () => {
  const invalid = (queue: 'matcher' | 'notifier') =>
    createInvalidMessageHandler({
      queue,
      jobs,
      events: {
        publish: async (type, id, payload) => {
          published.push({ type, id, payload });
        },
      },
      log: createReconLogger({ level: 'silent' }),
      now: () => new Date(),
    });
  const body = JSON.stringify({ type: 'shard.ready', correlationId: JOB, payload: { jobId: JOB } });
  const error = new ReconError('INVALID_MESSAGE', 'shard: expected a number');

  it('fails the job it names and announces it', async () => {
    await openJob(new Date());
    await invalid('matcher')(body, { messageId: 'm', receiveCount: 1 }, error);
    expect((await jobs.getJob(JOB))?.status).toBe('FAILED');
    expect(published.map((p) => p.type)).toEqual(['job.failed']);
  });

  it("on the notifier's queue leaves the job as it is and publishes nothing", async () => {
    await openJob(new Date());
    await invalid('notifier')(body, { messageId: 'm', receiveCount: 1 }, error);
    expect((await jobs.getJob(JOB))?.status).toBe('MATCHING');
    expect(published).toEqual([]);
  });
});
