import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  createPostgresJobStore,
  createSqsClient,
  type PostgresHandle,
  startEmbeddedPostgres,
} from '@recon/adapters';
import { dropFile, findJob, type Stack, waitForJob } from '@recon/cli/stack';
import type { Envelope, JobRequested, JobSummary } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import type { GeneratedDay } from '@recon/generator';
import type { SqsSpyMessage } from 'fauxqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParquetRow } from '../support/parquet.ts';
import {
  comparable,
  distinctCopy,
  distributedRows,
  embeddedRun,
  generate,
  loadBase,
  REFERENCE_DATE,
  startStack,
  tempDir,
} from './support.ts';

let dir: string;
let pg: PostgresHandle;
let day: GeneratedDay;
let embedded: { summary: JobSummary; rows: ParquetRow[] };
let stack: Stack | undefined;

beforeAll(async () => {
  dir = await tempDir('failures');
  [pg, day] = await Promise.all([startEmbeddedPostgres({ dataDir: join(dir, 'pg') }), generate(dir)]);
  await loadBase(pg.url, day);
  embedded = await embeddedRun(dir, day, pg.url);
});

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

function sqsMessages(s: Stack, queue: string): (SqsSpyMessage & { envelope: Envelope })[] {
  return s.fauxqs.spy
    .getAllMessages()
    .filter(
      (m): m is SqsSpyMessage => m.service === 'sqs' && m.queueName === queue && m.status === 'published',
    )
    .map((m) => ({ ...m, envelope: JSON.parse(m.body) as Envelope }));
}

function sqsClient(s: Stack) {
  return createSqsClient({
    region: s.state.region,
    endpoint: s.state.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

describe('idempotency', () => {
  it('gives identical output and one report when every message is delivered twice', async () => {
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      // TEST ONLY switch: every service publishes each event twice.
      env: { RECON_TEST_DUPLICATE_DELIVERY: '1' },
    });
    const dropped = await dropFile(stack.state, day.vendorPath, REFERENCE_DATE);
    const sqs = sqsClient(stack);
    try {
      // …and the file's Object Created event arrives twice as well.
      await sqs.send(
        new SendMessageCommand({ QueueUrl: stack.state.queues.ingest.queueUrl, MessageBody: dropped.body }),
      );
    } finally {
      sqs.destroy();
    }
    const job = await waitForJob(stack.databaseUrl, dropped, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    const s = stack;
    // The duplicates were delivered: two job.succeeded messages reached the notifier's queue…
    await s.until(
      () =>
        s.logs('notifier').filter((l) => l.event === 'job.succeeded' && l.msg === 'handling').length +
          s
            .logs('notifier')
            .filter((l) => l.event === 'job.succeeded' && String(l.msg).startsWith('already handled'))
            .length >=
        2,
      30_000,
      'both job.succeeded copies to be handled',
    );
    expect(sqsMessages(s, 'recon-notifier').filter((m) => m.envelope.type === 'job.succeeded')).toHaveLength(
      2,
    );
    expect(
      sqsMessages(s, 'recon-reporter').filter((m) => m.envelope.type === 'matching.completed'),
    ).toHaveLength(2);
    expect(s.logs().some((l) => String(l.msg).startsWith('already handled'))).toBe(true);
    // …yet one job, one report, one notification.
    const summaryUploads = s.fauxqs.spy
      .getAllMessages()
      .filter(
        (m) => m.service === 's3' && m.status === 'uploaded' && m.key === `jobs/${job.jobId}/summary.json`,
      );
    expect(summaryUploads).toHaveLength(1);
    const notified = s.logs('notifier').filter((l) => l.kind === 'job.succeeded');
    expect(notified).toHaveLength(1);
    const jobs = sqsMessages(s, 'recon-ingest').filter((m) => m.envelope.type === 'job.requested');
    expect(new Set(jobs.map((m) => (m.envelope.payload as JobRequested).jobId))).toEqual(
      new Set([job.jobId]),
    );
    const result = await distributedRows(s, job.jobId, dir);
    expect(comparable(result.summary)).toEqual(comparable(embedded.summary));
    expect(result.rows).toEqual(embedded.rows);
  });
});

describe('poison messages', () => {
  it('sends an invalid message and an always-failing handler to the DLQ, failing their jobs with the reason', async () => {
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      matchers: 1,
      visibilityTimeoutSeconds: 2,
      maxReceiveCount: 3,
      // TEST ONLY switch: the reporter's matching.completed handler always throws.
      serviceEnv: { reporter: { RECON_TEST_FAIL_EVENTS: 'matching.completed' } },
    });
    const s = stack;

    // 1. A message that does not match its schema, naming an open job.
    const poisoned = jobRequest('JOB-20261122-990001', {
      file: { key: 'nowhere.csv' },
      referenceDate: REFERENCE_DATE,
      arrivedAt: new Date().toISOString(),
    });
    const store = await createPostgresJobStore(s.databaseUrl);
    try {
      expect(await store.store.createJob(poisoned, new Date().toISOString())).toBe(true);
    } finally {
      await store.close();
    }
    const body = JSON.stringify({
      id: 'shard.ready:JOB-20261122-990001:0',
      type: 'shard.ready',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      producedBy: 'test',
      correlationId: poisoned.jobId,
      payload: { jobId: poisoned.jobId, shard: -1, shardCount: 4 },
    });
    const sqs = sqsClient(s);
    try {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: s.state.queues.matcher.queueUrl, MessageBody: body }),
      );
    } finally {
      sqs.destroy();
    }
    await s.until(
      () => (s.fauxqs.inspectQueue('recon-matcher-dlq')?.messages.ready.length ?? 0) === 1,
      30_000,
      'the invalid message in the matcher DLQ',
    );
    expect(s.fauxqs.inspectQueue('recon-matcher-dlq')!.messages.ready[0]!.body).toBe(body);
    const invalidJob = await createPostgresJobStore(s.databaseUrl).then(async (db) => {
      try {
        return await db.store.getJob(poisoned.jobId);
      } finally {
        await db.close();
      }
    });
    expect(invalidJob?.status).toBe('FAILED');
    expect(invalidJob?.error).toMatchObject({ stage: 'matcher', code: 'INVALID_MESSAGE' });
    expect(invalidJob?.error?.message).toMatch(/does not match its schema/);
    await s.until(
      () => sqsMessages(s, 'recon-notifier').some((m) => m.envelope.id === `job.failed:${poisoned.jobId}`),
      10_000,
      'job.failed of the invalid message',
    );

    // 2. A handler that always throws: the job fails on the last attempt, the message is dead-lettered.
    // (A copy of the day with a blank line more: the day itself already SUCCEEDED above, and the
    // same file is not reconciled twice — RULES §7.)
    const dropped = await dropFile(s.state, await distinctCopy(day, dir, 'poison'), REFERENCE_DATE);
    const job = await waitForJob(s.databaseUrl, dropped, 60_000);
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatchObject({ stage: 'reporter', code: 'INTERNAL' });
    expect(job.error?.message).toMatch(/always fails/);
    const attempts = s
      .logs('reporter')
      .filter((l) => l.event === 'matching.completed' && l.msg === 'handling');
    expect(attempts.map((l) => l.receive_count)).toEqual([1, 2, 3]);
    await s.until(
      () => (s.fauxqs.inspectQueue('recon-reporter-dlq')?.messages.ready.length ?? 0) === 1,
      30_000,
      'the failing message in the reporter DLQ',
    );
    const dead = JSON.parse(s.fauxqs.inspectQueue('recon-reporter-dlq')!.messages.ready[0]!.body) as Envelope;
    expect(dead.id).toBe(`matching.completed:${job.jobId}`);
    // job.failed was published once, to the reporter (FAILED summary) and the notifier.
    const failed = sqsMessages(s, 'recon-notifier').filter(
      (m) => m.envelope.id === `job.failed:${job.jobId}`,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.envelope.payload).toMatchObject({ status: 'FAILED', stage: 'reporter' });
    await s.until(
      () => s.logs('notifier').some((l) => l.kind === 'job.failed' && l.job_id === job.jobId),
      20_000,
      'the failure notification',
    );
    expect((await findJob(s.databaseUrl, dropped))?.status).toBe('FAILED');
  });
});
