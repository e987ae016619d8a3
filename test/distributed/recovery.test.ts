import { rm } from 'node:fs/promises';
import type { Stack } from '@recon/cli/stack';
import { dropFile, waitForJob } from '@recon/cli/stack';
import type { JobSummary } from '@recon/contracts';
import type { GeneratedDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParquetRow } from '../support/parquet.ts';
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
 * Crashes mid-job: a matcher killed with SIGKILL in the middle of a shard, and the job store's
 * PostgreSQL restarted while shards are being matched. One stack (owning its PostgreSQL) for both.
 */
const SHARD_DELAY_MS = 2_000;
let dir: string;
let day: GeneratedDay;
let stack: Stack;
let embedded: { summary: JobSummary; rows: ParquetRow[] };

beforeAll(async () => {
  dir = await tempDir('recovery');
  day = await generate(dir);
  stack = await startStack(dir, {
    matchers: 2,
    visibilityTimeoutSeconds: 4,
    maxReceiveCount: 10,
    // TEST ONLY switch: each shard waits before it is matched, so the crash lands mid-shard.
    serviceEnv: { matcher: { RECON_TEST_MATCHER_DELAY_MS: String(SHARD_DELAY_MS) } },
  });
  await loadBase(stack.databaseUrl, day);
  embedded = await embeddedRun(dir, day, stack.databaseUrl);
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('recovery', () => {
  it('finishes a shard on another matcher after one is killed (kill -9) in the middle of it', async () => {
    const dropped = await dropFile(stack.state, day.vendorPath, REFERENCE_DATE);
    const delayed = () => stack.logs('matcher').find((l) => l.msg === 'TEST ONLY: shard delayed');
    await stack.until(() => delayed() !== undefined, 60_000, 'a matcher to start a shard');
    const victimLog = delayed()!;
    const victim = stack.processes.find((p) => p.pid === victimLog.pid)!;
    process.kill(victim.pid, 'SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    const job = await waitForJob(stack.databaseUrl, dropped, 90_000);
    expect(job.status).toBe('SUCCEEDED');
    // The killed shard's message came back after its visibility timeout and another matcher did it.
    const redelivered = stack
      .logs('matcher')
      .filter((l) => l.event_id === victimLog.event_id && l.msg === 'handled' && l.pid !== victim.pid);
    expect(redelivered).toHaveLength(1);
    expect(Number(redelivered[0]!.receive_count)).toBeGreaterThanOrEqual(2);
    const result = await distributedRows(stack, job.jobId, dir);
    expect(comparable(result.summary)).toEqual(comparable(embedded.summary));
    expect(result.rows).toEqual(embedded.rows);
    // Two matchers again for what follows.
    await stack.startService('matcher');
  });

  it('completes a job when PostgreSQL restarts in the middle of it', async () => {
    const shardsStarted = () =>
      stack.logs('matcher').filter((l) => l.msg === 'TEST ONLY: shard delayed').length;
    const before = shardsStarted();
    // A copy with a blank line more: the day itself already SUCCEEDED above (RULES §7 idempotency).
    const dropped = await dropFile(stack.state, await distinctCopy(day, dir, 'pg-restart'), REFERENCE_DATE);
    await stack.until(() => shardsStarted() > before, 60_000, 'the second job to reach its shards');
    await stack.restartPostgres(async () => {
      // Keep it down until a handler has met the outage and left its message for redelivery.
      await stack.until(
        () => stack.logs().some((l) => l.msg === 'handler failed; will be retried' && l.transient === true),
        30_000,
        'a handler to fail on the stopped database',
      );
    });
    const job = await waitForJob(stack.databaseUrl, dropped, 90_000);
    expect(job.status).toBe('SUCCEEDED');
    // Every message that met the outage came back and was handled on a later delivery (whether it
    // failed on its first check, before its shard's delay, or after it).
    const failed = stack
      .logs()
      .filter(
        (l) => l.msg === 'handler failed; will be retried' && l.transient === true && l.job_id === job.jobId,
      );
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      const handled = stack.logs().filter((l) => l.event_id === f.event_id && l.msg === 'handled');
      expect(handled).toHaveLength(1);
      expect(Number(handled[0]!.receive_count)).toBeGreaterThan(Number(f.receive_count));
    }
    expect(shardsStarted()).toBeGreaterThanOrEqual(before + SHARDS);
    const result = await distributedRows(stack, job.jobId, dir);
    expect(comparable(result.summary)).toEqual(comparable(embedded.summary));
    expect(result.rows).toEqual(embedded.rows);
  });
});
