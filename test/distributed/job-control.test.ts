import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createPostgresJobStore,
  createS3Client,
  type PostgresHandle,
  type PostgresJobStore,
  S3ObjectStore,
  startEmbeddedPostgres,
} from '@recon/adapters';
import { dropFile, findJob, type Stack } from '@recon/cli/stack';
import { type Checkpoint, type JobRecord, type JobSummary, readCheckpoint } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import type { GeneratedDay } from '@recon/generator';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { SesReceiver, WebhookReceiver } from '../../services/notifier/src/testing/receivers.ts';
import { type ReconRun, runRecon } from '../support/cli.ts';
import type { ParquetRow } from '../support/parquet.ts';
import { until } from '../support/wait.ts';
import {
  comparable,
  distinctCopy,
  distributedRows,
  embeddedRun,
  generate,
  loadBase,
  REFERENCE_DATE,
  SHARDS,
  startStack,
  tempDir,
} from './support.ts';

/**
 * Job control (RULES §7) in the distributed runtime: every service its own OS process over fauxqs
 * (SQS + S3) and a real PostgreSQL job store — deadline, checkpoint, reprocess, one job per
 * reference date, the same file twice, retries of a transient failure with their backoff.
 */

let dir: string;
let pg: PostgresHandle;
let day: GeneratedDay;
let embedded: { summary: JobSummary; rows: ParquetRow[] };
let jobStore: { store: PostgresJobStore; close(): Promise<void> };
let stack: Stack | undefined;
let slack: WebhookReceiver;

beforeAll(async () => {
  dir = await tempDir('job-control');
  [pg, day] = await Promise.all([startEmbeddedPostgres({ dataDir: join(dir, 'pg') }), generate(dir)]);
  await loadBase(pg.url, day);
  embedded = await embeddedRun(dir, day, pg.url);
  jobStore = await createPostgresJobStore(pg.url, { maxConnections: 2 });
  slack = await new WebhookReceiver().start();
});

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

afterAll(async () => {
  await jobStore?.close();
  await slack?.stop();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `recon …` against the stack, as an operator runs it (its own process, the stack's endpoint). */
async function recon(s: Stack, args: string[], extra: string[] = []): Promise<ReconRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/',
    AWS_REGION: s.state.region,
    AWS_ENDPOINT_URL: s.state.endpoint,
    AWS_ACCESS_KEY_ID: 'recon',
    AWS_SECRET_ACCESS_KEY: 'recon',
    RECON_QUEUE_PREFIX: s.state.queuePrefix,
    DATABASE_URL: s.databaseUrl,
  };
  for (let k = 0; k + 1 < extra.length; k += 2) env[extra[k]!] = extra[k + 1]!;
  return runRecon(args, env);
}

/** Waits until the job is in one of `statuses` (polled in the job store). */
function jobIn(jobId: string, statuses: string[], timeoutMs: number): Promise<JobRecord> {
  let seen: string | undefined;
  return until(
    () => `${jobId} to be ${statuses.join('/')} (is ${seen})`,
    async () => {
      const current = await jobStore.store.getJob(jobId);
      seen = current?.status;
      return current !== undefined && statuses.includes(current.status) ? current : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function jobOf(s: Stack, dropped: Awaited<ReturnType<typeof dropFile>>, timeoutMs = 60_000) {
  const row = await until(`a job for ${dropped.key}`, () => findJob(s.databaseUrl, dropped), {
    timeoutMs,
    intervalMs: 200,
  });
  return row.jobId;
}

/**
 * The job's stop checkpoint. The job store says TIMEOUT a moment before the checkpoint is written
 * (stopJob: fail, then checkpoint, then job.failed), so wait for it a little.
 */
async function checkpointOf(s: Stack, jobId: string, timeoutMs = 15_000): Promise<Checkpoint> {
  const s3 = createS3Client({
    region: s.state.region,
    endpoint: s.state.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const store = new S3ObjectStore({ client: s3, bucket: s.state.storeBucket });
  try {
    return await until(
      `the stop checkpoint of ${jobId}`,
      async () => {
        const cp = await readCheckpoint(store, jobId);
        return cp !== undefined && cp.status !== 'IN_PROGRESS' ? cp : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } finally {
    s3.destroy();
  }
}

async function expectSameAsEmbedded(s: Stack, jobId: string): Promise<void> {
  const result = await distributedRows(s, jobId, dir);
  expect(result.jobIds).toEqual([jobId]);
  expect(comparable(result.summary)).toEqual(comparable(embedded.summary));
  expect(result.rows).toEqual(embedded.rows);
}

describe('deadline, checkpoint, reprocess, one job per date, the same file twice', () => {
  it('times a slowed job out at its deadline (checkpoint, CRITICAL), refuses a second file for its date, completes both by reprocess identical to a clean run, and never reconciles the same file twice', async () => {
    // A short deadline for every job of this stack; TEST ONLY: each shard waits 3 s, so 4 shards
    // on 2 matchers need 6 s and more after partitioning — the deadline falls while they work
    // (on a loaded machine it may fall earlier: the stage and the resume mode differ, nothing else).
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      matchers: 2,
      env: { RECON_JOB_DEADLINE_MS: '6000' },
      serviceEnv: {
        matcher: { RECON_TEST_MATCHER_DELAY_MS: '3000' },
        ingest: { RECON_DEADLINE_SWEEP_MS: '500' },
      },
    });
    const s = stack;

    // 1. The day arrives, and right behind it a second file for the same date.
    const dropped = await dropFile(s.state, day.vendorPath, REFERENCE_DATE);
    const second = await dropFile(s.state, await distinctCopy(day, dir, 'second'), REFERENCE_DATE);
    const jobId = await jobOf(s, dropped);
    const secondId = await jobOf(s, second);

    // 2. One job per reference date: the second is refused (JOB_RUNNING, naming the first), announced HIGH.
    const refused = await jobIn(secondId, ['FAILED', 'SUCCEEDED', 'TIMEOUT'], 60_000);
    expect(refused.status).toBe('FAILED');
    expect(refused.error).toMatchObject({ stage: 'ingest', code: 'JOB_RUNNING' });
    expect(refused.error?.message).toContain(jobId);
    await s.until(
      () => s.logs('notifier').some((l) => l.job_id === secondId && l.kind === 'job.failed'),
      30_000,
      'the refusal notification',
    );
    expect(s.logs('notifier').find((l) => l.job_id === secondId && l.kind === 'job.failed')?.severity).toBe(
      'HIGH',
    );

    // 3. The deadline passes while the first is being worked: TIMEOUT once, checkpoint, CRITICAL.
    const timedOut = await jobIn(jobId, ['TIMEOUT', 'FAILED', 'SUCCEEDED'], 60_000);
    expect(timedOut.status).toBe('TIMEOUT');
    expect(timedOut.error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(timedOut.history.filter((h) => h.status === 'TIMEOUT')).toHaveLength(1);
    const stoppedIn = timedOut.error!.stage.toUpperCase();
    const cp = await checkpointOf(s, jobId);
    expect(cp).toMatchObject({
      job_id: jobId,
      status: 'TIMEOUT',
      error_details: { error_type: 'TIMEOUT', stage: timedOut.error!.stage },
      intermediate_data: { stopped_in: stoppedIn, request: { jobId } },
      checkpoint_location: `s3://${s.state.storeBucket}/checkpoints/${jobId}/checkpoint.json`,
    });
    // The checkpoint is the job's state at its stop. A matcher that had passed its last check of
    // the job just before may still complete its shard (its result is sound): the job store can
    // hold more completed shards than the checkpoint, never fewer.
    const shardsDone = await jobStore.store.listUnits<{ shard: number }>(jobId, 'shards');
    const inCheckpoint = cp!.intermediate_data.units.shards.map((u) => u.unit);
    expect(shardsDone.map((u) => u.unit)).toEqual(expect.arrayContaining(inCheckpoint));
    if (stoppedIn === 'MATCHING') expect(inCheckpoint.length).toBeLessThan(SHARDS);
    if (cp!.progress.total_lines > 0) {
      expect(cp!.progress.processed_lines + cp!.progress.pending_lines).toBe(cp!.progress.total_lines);
      expect(cp!.progress.pending_lines).toBeGreaterThan(0);
    }
    await s.until(
      () => s.logs('notifier').some((l) => l.kind === 'job.timeout' && l.job_id === jobId),
      30_000,
      'the timeout notification',
    );
    expect(s.logs('notifier').find((l) => l.kind === 'job.timeout' && l.job_id === jobId)?.severity).toBe(
      'CRITICAL',
    );
    await s.until(
      () =>
        s.logs('reporter').some((l) => l.event === 'job.failed' && l.msg === 'handled' && l.job_id === jobId),
      30_000,
      'the TIMEOUT summary',
    );

    // 4. reprocess (the command line, against the job store): redoes only what is pending.
    const reprocessed = await recon(s, ['reprocess', jobId, '--json']);
    expect(reprocessed.code, reprocessed.stderr).toBe(0);
    const plan = JSON.parse(reprocessed.stdout.trim().split('\n').at(-1)!) as { mode: string; from: string };
    expect(plan.from).toBe('TIMEOUT');
    expect(['match', 'report', 'restart']).toContain(plan.mode);
    if (stoppedIn === 'MATCHING') expect(plan.mode).toBe('match');
    const done = await jobIn(jobId, ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'], 120_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.history.map((h) => h.status)).toContain('TIMEOUT');
    if (plan.mode === 'match') {
      // The shards completed before the deadline were skipped at once, never worked twice.
      const delayed = s
        .logs('matcher')
        .filter((l) => l.job_id === jobId && l.msg === 'TEST ONLY: shard delayed')
        .map((l) => Number(l.shard));
      for (const u of shardsDone) expect(delayed.filter((shard) => shard === u.data.shard)).toHaveLength(1);
    }
    await expectSameAsEmbedded(s, jobId);

    // 5. The same file again: not reconciled again (no job), the earlier job named.
    const again = await dropFile(s.state, day.vendorPath, REFERENCE_DATE);
    await s.until(
      () =>
        s
          .logs('ingest')
          .some(
            (l) =>
              l.key === again.key &&
              String(l.msg).startsWith('already reconciled') &&
              l.reconciled_by === jobId,
          ),
      30_000,
      'ingest to recognise the same file',
    );
    expect(await findJob(s.databaseUrl, again)).toBeUndefined();

    // 6. The refused file, reprocessed now that its date is free: reconciled, the same rows.
    const secondRun = await recon(s, ['reprocess', secondId, '--deadline-minutes', '20', '--json']);
    expect(secondRun.code, secondRun.stderr).toBe(0);
    expect(JSON.parse(secondRun.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      mode: 'restart',
      from: 'FAILED',
    });
    expect((await jobIn(secondId, ['SUCCEEDED', 'FAILED', 'TIMEOUT'], 120_000)).status).toBe('SUCCEEDED');
    await expectSameAsEmbedded(s, secondId);
    // A job that succeeded has nothing to reprocess.
    const refusedAgain = await recon(s, ['reprocess', secondId]);
    expect(refusedAgain.code).toBe(1);
    expect(refusedAgain.stderr).toMatch(/already SUCCEEDED/);
  });

  it('times out a job with no message in flight (the ingest service sweeps deadlines)', async () => {
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      matchers: 1,
      env: { RECON_JOB_DEADLINE_MS: '2000' },
      serviceEnv: {
        ingest: { RECON_DEADLINE_SWEEP_MS: '300' },
        notifier: { RECON_SLACK_WEBHOOK_URL: slack.url },
      },
    });
    const s = stack;
    // A job whose messages were all lost (say, to a DLQ): nothing will ever be delivered for it.
    const lost = jobRequest('JOB-20261122-880001', {
      file: { key: `${REFERENCE_DATE}/lost.csv` },
      referenceDate: '2026-11-19',
      arrivedAt: new Date().toISOString(),
    });
    await jobStore.store.createJob(lost, lost.arrivedAt);
    await jobStore.store.setStatus(lost.jobId, 'PARTITIONING', lost.arrivedAt);
    const timedOut = await jobIn(lost.jobId, ['TIMEOUT'], 30_000);
    expect(timedOut.error).toMatchObject({ code: 'DEADLINE_EXCEEDED', stage: 'partitioning' });
    expect(await checkpointOf(s, lost.jobId)).toMatchObject({ status: 'TIMEOUT', job_id: lost.jobId });
    await s.until(
      () => s.logs('notifier').some((l) => l.kind === 'job.timeout' && l.job_id === lost.jobId),
      30_000,
      'the timeout notification',
    );
  });

  it('recon check-delivery (AWS mode): the ingress bucket or the job store show the file, else delivery.missing reaches the notifier service, once, on Slack and by SES email', async () => {
    const ses = await new SesReceiver().start();
    onTestFinished(() => ses.stop());
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      matchers: 1,
      serviceEnv: {
        notifier: {
          RECON_SLACK_WEBHOOK_URL: slack.url,
          RECON_EMAIL_TRANSPORT: 'ses',
          RECON_SES_ENDPOINT_URL: ses.url,
          RECON_MAIL_FROM: 'recon@empresa.com',
          RECON_MAIL_TO: 'ops@empresa.com',
        },
      },
    });
    const s = stack;
    const s3 = createS3Client({
      region: s.state.region,
      endpoint: s.state.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      // Arrived without an event (no job yet): the bucket listing shows it.
      await new S3ObjectStore({ client: s3, bucket: s.state.ingressBucket }).put(
        '2026-11-17/vendor.csv',
        'fornecedor_id;ordem_id;nome;ativo_id;data;valor\n',
      );
    } finally {
      s3.destroy();
    }
    const env = ['RECON_INGRESS_BUCKET', s.state.ingressBucket];
    const inBucket = await recon(s, ['check-delivery', '--date', '2026-11-17', '--json'], env);
    expect(inBucket.code, inBucket.stderr).toBe(0);
    expect(JSON.parse(inBucket.stdout)).toMatchObject({
      arrived: true,
      foundIn: `s3://${s.state.ingressBucket}/2026-11-17/`,
    });
    // A date whose file has a job (its object since expired, say): the job store shows it.
    const known = jobRequest('JOB-20261116-770001', {
      file: { key: '2026-11-15/vendor.csv' },
      referenceDate: '2026-11-15',
      arrivedAt: new Date().toISOString(),
    });
    await jobStore.store.createJob(known, known.arrivedAt);
    await jobStore.store.fail(
      known.jobId,
      'FAILED',
      { stage: 'ingest', code: 'X', message: 'x' },
      known.arrivedAt,
    );
    const inJobStore = await recon(s, ['check-delivery', '--date', '2026-11-15', '--json'], env);
    expect(JSON.parse(inJobStore.stdout)).toMatchObject({ arrived: true, foundIn: 'job store' });

    const missing = await recon(s, ['check-delivery', '--date', '2026-11-16'], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('vendor file of 2026-11-16 has NOT arrived');
    const again = await recon(s, ['check-delivery', '--date', '2026-11-16'], env); // a rerun of the task
    expect(again.code).toBe(1);
    await s.until(
      () => s.logs('notifier').filter((l) => l.kind === 'delivery.missing').length >= 1,
      30_000,
      'the notifier to announce the missing delivery',
    );
    await s.until(
      () => slack.delivered.some((r) => r.body.includes('Arquivo do fornecedor')),
      30_000,
      'the Slack webhook to receive it',
    );
    // Both runs published the event; the notifier announced it once (its id is per date).
    await s.until(
      () =>
        s
          .logs('notifier')
          .some((l) => l.event === 'delivery.missing' && String(l.msg).startsWith('already handled')),
      30_000,
      'the second copy to be recognised',
    );
    const alerts = slack.delivered.filter((r) => r.body.includes('Arquivo do fornecedor'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.body).toContain('Arquivo do fornecedor de 16/11/2026 não recebido');
    expect(alerts[0]!.body).toContain(`s3://${s.state.ingressBucket}/2026-11-16/`);
    // HIGH goes to email too: the notifier process sent it through its SES client, once.
    await s.until(() => ses.mails.length >= 1, 30_000, 'the SES email');
    expect(ses.mails).toHaveLength(1);
    expect(ses.mails[0]!.subject).toContain('Arquivo do fornecedor de 16/11/2026 não recebido');
    expect(ses.mails[0]!.raw).toMatch(/^To: ops@empresa\.com\r$/m);
    expect(ses.requests[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });
});

describe('retries in the distributed runtime (RULES §7)', () => {
  it('survives a transient object-store failure injected twice, with the backoff recorded and applied through the message visibility', async () => {
    stack = await startStack(dir, {
      databaseUrl: pg.url,
      // One matcher: the injected faults (counted per process) all land on the same message.
      matchers: 1,
      env: { RECON_RETRY_DELAYS_MS: '1000,2000', RECON_RETRY_MAX_ATTEMPTS: '3' },
      // TEST ONLY: the matcher's first two writes of shard 1's result fail as S3 503 would.
      serviceEnv: { matcher: { RECON_TEST_PUT_FAULTS: 'results/shard-0001:2' } },
    });
    const s = stack;
    const dropped = await dropFile(s.state, await distinctCopy(day, dir, 'retry', 2), REFERENCE_DATE);
    const jobId = await jobOf(s, dropped);
    const done = await jobIn(jobId, ['SUCCEEDED', 'FAILED', 'TIMEOUT'], 120_000);
    expect(done.status).toBe('SUCCEEDED');
    const retries = done.facts.retries as {
      stage: string;
      event: string;
      attempt: number;
      delay_ms: number;
    }[];
    expect(retries.map((r) => [r.stage, r.event, r.attempt, r.delay_ms])).toEqual([
      ['matcher', 'shard.ready', 1, 1000],
      ['matcher', 'shard.ready', 2, 2000],
    ]);
    // The message came back no sooner than its backoff: receive 2 at least 1 s after receive 1, …
    const attempts = s
      .logs('matcher')
      .filter((l) => l.event_id === `shard.ready:${jobId}:1` && l.msg === 'handling')
      .map((l) => ({ n: Number(l.receive_count), at: Date.parse(String(l.timestamp)) }));
    expect(attempts.map((a) => a.n)).toEqual([1, 2, 3]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1_900);
    await expectSameAsEmbedded(s, jobId);
  });
});
