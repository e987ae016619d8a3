import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reconcile, reconcileOnce, reprocess } from '@recon/cli/reconcile';
import { DEFAULT_SERVICE_OPTIONS, EmbeddedRuntime, type JobOutcome } from '@recon/cli/runtime';
import type { Checkpoint } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import type { GeneratedDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRecon, ROOT, reconArgv, runRecon } from '../support/cli.ts';
import { smallMixedDay } from '../support/day.ts';
import { readParquet } from '../support/parquet.ts';
import { until } from '../support/wait.ts';

const FIXED = '2026-11-22T06:00:00.000Z';

let dir: string;
let day: GeneratedDay;

beforeAll(async () => {
  ({ dir, day } = await smallMixedDay('recon-jobctl-', 11));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = () => ({ kind: 'csv' as const, path: day.basePath });

/** The job every resume test compares against: one uninterrupted run, same id, shards and clock. */
const RESUMED_JOB = 'JOB-20261122-000042';
const cleanCommon = () => ({
  file: day.vendorPath,
  base: base(),
  scope: 'date-window' as const,
  jobId: RESUMED_JOB,
  fixedNow: FIXED,
  workers: 2,
  shards: 8,
});
let cleanOutcome: Promise<JobOutcome> | undefined;
function cleanRun(): Promise<JobOutcome> {
  cleanOutcome ??= reconcile({ ...cleanCommon(), out: join(dir, 'clean') });
  return cleanOutcome;
}

/** The resumed job's outputs are byte for byte those of the clean run. */
async function expectSameOutputs(clean: JobOutcome, resumed: JobOutcome): Promise<void> {
  expect(resumed.summary.status).toBe('SUCCEEDED');
  expect(resumed.summary.divergences).toEqual(clean.summary.divergences);
  expect(resumed.summary.total_lines).toBe(clean.summary.total_lines);
  const a = clean.summary.outputs.divergences as string[];
  const b = resumed.summary.outputs.divergences as string[];
  expect(b.length).toBe(a.length);
  for (let k = 0; k < a.length; k++) {
    expect(Buffer.compare(await readFile(a[k]!), await readFile(b[k]!))).toBe(0);
  }
  expect(await readFile(resumed.summary.outputs.rejects as string, 'utf8')).toBe(
    await readFile(clean.summary.outputs.rejects as string, 'utf8'),
  );
}

describe('idempotency (RULES §7): the same file twice → one job', () => {
  it('does not reconcile a file whose SHA-256 already has a SUCCEEDED job, unless forced', async () => {
    const out = join(dir, 'idem');
    const first = await reconcileOnce({
      file: day.vendorPath,
      base: base(),
      out,
      scope: 'date-window',
      workers: 2,
    });
    expect(first.kind).toBe('reconciled');
    if (first.kind !== 'reconciled') return;
    expect(first.outcome.summary.status).toBe('SUCCEEDED');
    const firstId = first.outcome.summary.job_id;

    const second = await reconcileOnce({
      file: day.vendorPath,
      base: base(),
      out,
      scope: 'date-window',
      workers: 2,
    });
    expect(second.kind).toBe('already-reconciled');
    if (second.kind !== 'already-reconciled') return;
    expect(second.summary.job_id).toBe(firstId);
    expect(second.sha256).toBe(first.outcome.summary.file_sha256);
    expect((await readdir(join(out, 'jobs'))).filter((d) => d.startsWith('JOB-'))).toEqual([firstId]);

    // The command line says so, exits 0, and --json gives the earlier job's summary.
    const args = ['run', '--file', day.vendorPath, '--base-csv', day.basePath, '--out', out];
    const text = await runRecon(args);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`already reconciled`);
    expect(text.stdout).toContain(firstId);
    const json = await runRecon([...args, '--json']);
    expect(json.code).toBe(0);
    const last = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { job_id: string; status: string };
    expect(last).toMatchObject({ job_id: firstId, status: 'SUCCEEDED' });

    // --force (force_reprocess) reconciles it anew under a new job id.
    const forced = await reconcileOnce({
      file: day.vendorPath,
      base: base(),
      out,
      scope: 'date-window',
      workers: 2,
      force: true,
    });
    expect(forced.kind).toBe('reconciled');
    if (forced.kind === 'reconciled') {
      expect(forced.outcome.summary.status).toBe('SUCCEEDED');
      expect(forced.outcome.summary.job_id).not.toBe(firstId);
    }
  });
});

describe('one job per reference date at a time (lock file)', () => {
  it('refuses a second job for the same date while one runs, naming the running job', async () => {
    const out = join(dir, 'lock');
    const lockPath = join(out, 'jobs', '.locks', '2026-11-21.lock');
    const slow = reconcile({
      file: day.vendorPath,
      base: base(),
      out,
      scope: 'date-window',
      referenceDate: '2026-11-21',
      jobId: 'JOB-20261122-000001',
      workers: 2,
      shards: 4,
      options: { ...DEFAULT_SERVICE_OPTIONS, testMatcherDelayMs: 300 },
    });
    await until('the first job to hold the lock', () => stat(lockPath), { timeoutMs: 5_000, intervalMs: 25 });
    const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { pid: number; jobId: string };
    expect(lock).toMatchObject({ pid: process.pid, jobId: 'JOB-20261122-000001' });
    await expect(
      reconcile({
        file: day.vendorPath,
        base: base(),
        out,
        scope: 'date-window',
        referenceDate: '2026-11-21',
        jobId: 'JOB-20261122-000002',
        workers: 1,
      }),
    ).rejects.toMatchObject({ code: 'JOB_RUNNING', message: expect.stringContaining('JOB-20261122-000001') });
    const first = await slow;
    expect(first.summary.status).toBe('SUCCEEDED');
    // …and the lock is released when the job ends.
    await expect(stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(out, 'jobs'))).not.toContain('JOB-20261122-000002');
  });

  it('takes over a stale lock whose process is dead', async () => {
    const out = join(dir, 'stale');
    await mkdir(join(out, 'jobs', '.locks'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const lockPath = join(out, 'jobs', '.locks', '2026-11-21.lock');
    await writeFile(lockPath, JSON.stringify({ pid: dead, jobId: 'JOB-20261121-000009', at: FIXED }));
    const { summary } = await reconcile({
      file: day.vendorPath,
      base: base(),
      out,
      scope: 'date-window',
      referenceDate: '2026-11-21',
      workers: 2,
    });
    expect(summary.status).toBe('SUCCEEDED');
    await expect(stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('deadline, checkpoint and reprocess (RULES §7, technical document §2.6)', () => {
  it('a deadline that passes before ingest has even recorded the job still times it out', async () => {
    const outcome = await reconcile({
      file: day.vendorPath,
      base: base(),
      scope: 'date-window',
      out: join(dir, 'instant-deadline'),
      deadlineMs: 1,
      workers: 2,
    });
    expect(outcome.job.status).toBe('TIMEOUT');
    expect(outcome.summary.status).toBe('TIMEOUT');
    expect(await readdir(join(dir, 'instant-deadline', 'divergencias')).catch(() => [])).toEqual([]);
  });

  it('a short deadline with a slowed matcher ends TIMEOUT with a checkpoint and a CRITICAL job.failed; reprocess completes it byte-identical to a clean run', async () => {
    const jobId = RESUMED_JOB;
    const common = cleanCommon();
    const clean = await cleanRun();
    expect(clean.summary.status).toBe('SUCCEEDED');

    const out = join(dir, 'timeout');
    const logs: string[] = [];
    const started = Date.now();
    const timedOut = await reconcile({
      ...common,
      out,
      // The deadline must land while shards are being matched, even on a loaded CI machine:
      // partitioning this small day takes well under 6 s there, and TEST ONLY each shard waits
      // 4 s, so 8 shards on 2 workers cannot finish before the deadline.
      deadlineMs: 6_000,
      options: { ...DEFAULT_SERVICE_OPTIONS, testMatcherDelayMs: 4_000 },
      logLevel: 'info',
      logDestination: (line) => logs.push(line),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(timedOut.job.status).toBe('TIMEOUT');
    expect(timedOut.job.error).toMatchObject({ code: 'DEADLINE_EXCEEDED', stage: 'matching' });
    expect(timedOut.summary.status).toBe('TIMEOUT');
    expect(timedOut.summary.error?.code).toBe('DEADLINE_EXCEEDED');
    // No divergence file for a timed-out job; its intermediate objects are kept for the reprocess.
    expect(await readdir(join(out, 'divergencias')).catch(() => [])).toEqual([]);
    expect((await readdir(join(out, 'work', jobId))).sort()).toContain('parts');

    // The checkpoint, in the shape of the technical document §2.6.
    const cpPath = join(out, 'checkpoints', jobId, 'checkpoint.json');
    const cp = JSON.parse(await readFile(cpPath, 'utf8'));
    expect(Object.keys(cp).sort()).toEqual(
      [
        'checkpoint_location',
        'end_time',
        'error_details',
        'intermediate_data',
        'job_id',
        'progress',
        'start_time',
        'status',
      ].sort(),
    );
    expect(cp).toMatchObject({
      job_id: jobId,
      status: 'TIMEOUT',
      start_time: FIXED,
      checkpoint_location: cpPath,
      error_details: { error_type: 'TIMEOUT', stage: 'matching' },
    });
    expect(cp.progress.total_lines).toBe(clean.summary.total_lines);
    expect(cp.progress.processed_lines + cp.progress.pending_lines).toBe(clean.summary.total_lines);
    expect(cp.progress.pending_lines).toBeGreaterThan(0);
    const doneShards = cp.intermediate_data.units.shards.length as number;
    expect(doneShards).toBeLessThan(8);
    expect(cp.progress.last_processed_partition).toEqual(
      doneShards === 0 ? null : expect.stringMatching(/^shard-\d{4}$/),
    );
    expect(cp.intermediate_data.request.jobId).toBe(jobId);

    // job.failed (TIMEOUT) reached the notifier, which announced it as CRITICAL.
    const notified = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.stage === 'notifier' && l.event_id === `job.failed:${jobId}`);
    expect(notified.length).toBeGreaterThan(0);
    expect(notified[0]).toMatchObject({ severity: 'CRITICAL' });

    // Reprocess: resumes from the checkpoint, redoes only the pending shards.
    const resumeLogs: string[] = [];
    const resumed = await reprocess({
      out,
      jobId,
      fixedNow: FIXED,
      workers: 2,
      logLevel: 'info',
      logDestination: (line) => resumeLogs.push(line),
    });
    expect(resumed.summary.status).toBe('SUCCEEDED');
    expect(resumeLogs.map((l) => JSON.parse(l) as { msg: string; mode?: string })).toContainEqual(
      expect.objectContaining({ msg: 'resuming from checkpoint', mode: 'match' }),
    );
    await expectSameOutputs(clean, resumed);
    expect((await readParquet(resumed.summary.outputs.divergences as string[])).rows).toEqual(
      (await readParquet(clean.summary.outputs.divergences as string[])).rows,
    );
    // A job that succeeded has nothing to reprocess.
    await expect(reprocess({ out, jobId, fixedNow: FIXED, workers: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    // The command line: a job without a checkpoint is refused with the way out.
    const none = await runRecon(['reprocess', 'JOB-20261122-000099', '--out', out]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no checkpoint for JOB-20261122-000099.*--force/);
    // One that cannot be read (cut short) says so, not that there is none.
    const broken = 'JOB-20261122-000098';
    await mkdir(join(out, 'checkpoints', broken), { recursive: true });
    await writeFile(join(out, 'checkpoints', broken, 'checkpoint.json'), '{"job_id": "JOB-2026112');
    const unreadable = await runRecon(['reprocess', broken, '--out', out]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(
      /the checkpoint of JOB-20261122-000098 \(.*checkpoint\.json\) cannot be read: .*JSON.*--force/,
    );
    await expect(reprocess({ out, jobId: broken, fixedNow: FIXED, workers: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('cannot be read'),
    });
  });
});

describe('cancel (EmbeddedRuntime.cancel)', () => {
  it('stops a running job as CANCELLED with a checkpoint and a MEDIUM job.failed; reprocess completes it byte-identical to a clean run', async () => {
    const clean = await cleanRun();
    const out = join(dir, 'cancel');
    const logs: string[] = [];
    const runtime = new EmbeddedRuntime({
      ports: { storeRoot: out, ingressRoot: '/', databaseUrl: null, fixedNow: FIXED },
      workers: 2,
      logLevel: 'info',
      logDestination: (line) => logs.push(line),
      // TEST ONLY: each shard waits, so the cancel lands while shards are being matched.
      options: { ...DEFAULT_SERVICE_OPTIONS, testMatcherDelayMs: 1_500 },
    });
    const request = jobRequest(RESUMED_JOB, {
      file: { key: day.vendorPath.replace(/^\/+/, '') },
      base: { kind: 'csv', key: day.basePath.replace(/^\/+/, '') },
      referenceDate: clean.summary.reference_date,
      arrivedAt: FIXED,
      shardCount: 8,
      chunkBytes: 8 << 20,
      baseSlices: 1,
    });
    let outcome: Awaited<ReturnType<EmbeddedRuntime['run']>>;
    try {
      expect(await runtime.cancel(RESUMED_JOB)).toBe(false); // not known yet
      const running = runtime.run(request, { ms: 10 * 60_000, fromNow: true });
      await until(
        'the job to be matching',
        async () => {
          const job = await runtime.jobs.getJob(RESUMED_JOB);
          return job?.status === 'MATCHING' ? job : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(await runtime.cancel(RESUMED_JOB, 'wrong file, says the vendor')).toBe(true);
      expect(await runtime.cancel(RESUMED_JOB)).toBe(false); // already ended: once
      outcome = await running;
    } finally {
      await runtime.close();
    }
    expect(outcome.job.status).toBe('CANCELLED');
    expect(outcome.job.error).toMatchObject({ code: 'CANCELLED', stage: 'matching' });
    expect(outcome.job.error?.message).toContain('wrong file, says the vendor');
    expect(outcome.summary.status).toBe('CANCELLED');
    expect(await readdir(join(out, 'divergencias')).catch(() => [])).toEqual([]);

    const cp = JSON.parse(
      await readFile(join(out, 'checkpoints', RESUMED_JOB, 'checkpoint.json'), 'utf8'),
    ) as Checkpoint;
    expect(cp).toMatchObject({
      job_id: RESUMED_JOB,
      status: 'CANCELLED',
      error_details: { error_type: 'CANCELLED', stage: 'matching' },
      intermediate_data: { stopped_in: 'MATCHING' },
    });
    expect(cp.intermediate_data.units.shards.length).toBeLessThan(8);
    expect(cp.progress.processed_lines + cp.progress.pending_lines).toBe(clean.summary.total_lines);

    // The notifier announced it below CRITICAL (MEDIUM: an operator's decision, Slack only).
    const notified = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.stage === 'notifier' && l.event_id === `job.failed:${RESUMED_JOB}`);
    expect(notified.length).toBeGreaterThan(0);
    expect(notified[0]).toMatchObject({ severity: 'MEDIUM', kind: 'job.cancelled' });
    // The workers' lines come to the same destination (not to stderr): each handled shard's.
    const handled = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.thread === 'worker' && l.msg === 'handled');
    expect(handled.map((l) => l.stage)).toEqual(expect.arrayContaining(['ingest', 'partition']));
    expect(handled.length).toBeGreaterThan(3);

    const resumed = await reprocess({ out, jobId: RESUMED_JOB, fixedNow: FIXED, workers: 2 });
    await expectSameOutputs(clean, resumed);
  });
});

describe('a process killed mid-job (kill -9) is resumed by reprocess', () => {
  it('resumes `recon run` killed while matching from its last progress checkpoint, redoing only the pending shards', async () => {
    const clean = await cleanRun();
    const out = join(dir, 'killed');
    const env = {
      ...process.env,
      RECON_FIXED_NOW: FIXED,
      RECON_LOG_LEVEL: 'info',
      // TEST ONLY: each shard waits 2 s, so the kill lands in the middle of matching.
      RECON_TEST_MATCHER_DELAY_MS: '2000',
    };
    const args = ['run', '--file', day.vendorPath, '--base-csv', day.basePath, '--out', out];
    const child = spawn(
      process.execPath,
      reconArgv([...args, '--job-id', RESUMED_JOB, '--shards', '8', '--workers', '2', '--json']),
      { cwd: ROOT, env, stdio: 'ignore' },
    );
    const exited = new Promise<string | number>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)),
    );
    const cpPath = join(out, 'checkpoints', RESUMED_JOB, 'checkpoint.json');
    try {
      // Progress checkpoints appear while the job runs; kill once some shards are done.
      await until(
        'a progress checkpoint with completed shards',
        async () => {
          const cp = JSON.parse(await readFile(cpPath, 'utf8')) as Checkpoint;
          return cp.intermediate_data.units.shards.length >= 2 ? cp : undefined;
        },
        { timeoutMs: 120_000 },
      );
      child.kill('SIGKILL');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const cp = JSON.parse(await readFile(cpPath, 'utf8')) as Checkpoint;
    expect(cp).toMatchObject({ status: 'IN_PROGRESS', error_details: null, job_id: RESUMED_JOB });
    expect(cp.intermediate_data.stopped_in).toBe('MATCHING');
    const done = cp.intermediate_data.units.shards.length;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(8);
    expect(cp.progress.pending_lines).toBeGreaterThan(0);
    // The killed process left its date lock behind, and no summary.
    expect(await readdir(join(out, 'jobs', '.locks'))).toHaveLength(1);
    await expect(stat(join(out, 'jobs', RESUMED_JOB, 'summary.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });

    // reprocess (the command line): takes the dead process's lock over, redoes only the pending shards.
    const { stdout, stderr } = await execRecon(
      ['reprocess', RESUMED_JOB, '--out', out, '--workers', '2', '--json'],
      env,
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: string; job_id: string };
    expect(summary).toMatchObject({ status: 'SUCCEEDED', job_id: RESUMED_JOB });
    const lines = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; mode?: string; shard?: number });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'resuming from checkpoint', mode: 'match' }));
    const redone = lines.filter((l) => l.msg === 'TEST ONLY: shard delayed').map((l) => l.shard);
    const doneShards = new Set(cp.intermediate_data.units.shards.map((u) => u.data.shard));
    expect(redone.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].filter((s) => !doneShards.has(s)));
    const resumed: JobOutcome = {
      job: undefined as never,
      summary: JSON.parse(await readFile(join(out, 'jobs', RESUMED_JOB, 'summary.json'), 'utf8')),
    };
    await expectSameOutputs(clean, resumed);
    expect(await readdir(join(out, 'jobs', '.locks'))).toHaveLength(0);
  });
});

describe('retries of transient failures (RULES §7)', () => {
  const faults = (times: number) => ({
    keyIncludes: 'results/shard-0001',
    times,
    counter: new Int32Array(new SharedArrayBuffer(4)),
  });

  it('survives an object store that fails twice transiently, with the backoff recorded', async () => {
    const { summary, job } = await reconcile({
      file: day.vendorPath,
      base: base(),
      out: join(dir, 'retry'),
      scope: 'date-window',
      workers: 2,
      shards: 4,
      retry: { delaysMs: [50, 100, 200, 400], maxAttempts: 3 },
      testPutFaults: faults(2),
    });
    expect(summary.status).toBe('SUCCEEDED');
    const retries = job.facts.retries as { stage: string; attempt: number; delay_ms: number; code: string }[];
    expect(retries).toHaveLength(2);
    expect(retries.map((r) => [r.stage, r.attempt, r.delay_ms])).toEqual([
      ['matcher', 1, 50],
      ['matcher', 2, 100],
    ]);
    expect(summary.divergences).toEqual(day.expected['date-window'].divergences);
  });

  it('gives up after 3 attempts, and never retries past the deadline', async () => {
    const spent = await reconcile({
      file: day.vendorPath,
      base: base(),
      out: join(dir, 'retry-spent'),
      scope: 'date-window',
      workers: 2,
      shards: 4,
      retry: { delaysMs: [20, 40], maxAttempts: 3 },
      testPutFaults: faults(100),
    });
    expect(spent.summary.status).toBe('FAILED');
    expect(spent.job.facts.retries).toHaveLength(2);
    expect(spent.summary.error?.message).toMatch(/gave up after 3 attempt/);

    const started = Date.now();
    const late = await reconcile({
      file: day.vendorPath,
      base: base(),
      out: join(dir, 'retry-late'),
      scope: 'date-window',
      workers: 2,
      shards: 4,
      deadlineMs: 3_000,
      retry: { delaysMs: [60_000], maxAttempts: 3 },
      testPutFaults: faults(100),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(late.summary.status).toBe('FAILED');
    expect(late.job.facts.retries).toBeUndefined();
    expect(late.summary.error?.message).toMatch(/would pass the deadline/);
  });
});
