import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runningEmbeddedPostgres, startEmbeddedPostgres } from '@recon/adapters/postgres';
import type { Checkpoint } from '@recon/contracts';
import type { GeneratedDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRecon, ROOT, reconArgv } from '../support/cli.ts';
import { smallMixedDay } from '../support/day.ts';
import { holds, until } from '../support/wait.ts';

/**
 * The command line on the embedded PostgreSQL (no DATABASE_URL): a command started while another
 * recon process runs the server uses that server, and a job reconciled against it is resumed by
 * `recon reprocess`, which starts it again.
 */
const JOB = 'JOB-20261122-000077';

let dir: string;
let day: GeneratedDay;

beforeAll(async () => {
  ({ dir, day } = await smallMixedDay('recon-embedded-pg-', 23));
});

afterAll(async () => {
  // A server left by the killed run, should the test have failed before reprocess stopped it.
  for (const pgDir of ['pg-shared', 'pg-reprocess']) {
    const pid = Number.parseInt(
      (await readFile(join(dir, pgDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0] ?? '',
      10,
    );
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
});

function cliEnv(pgDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RECON_PG_DIR: pgDir, ...extra };
  delete env.DATABASE_URL;
  return env;
}

describe('the embedded PostgreSQL of another recon process', () => {
  it('is used by a command started beside it (recon keys create while recon serve runs)', async () => {
    const pgDir = join(dir, 'pg-shared');
    const server = await startEmbeddedPostgres({ dataDir: pgDir });
    try {
      expect(await runningEmbeddedPostgres(pgDir)).toBe(server.url);
      const created = await execRecon(
        ['keys', 'create', '--role', 'viewer', '--name', 'beside', '--json'],
        cliEnv(pgDir),
      );
      const key = JSON.parse(created.stdout.trim().split('\n').at(-1)!) as { id: string; role: string };
      expect(key.role).toBe('viewer');
      const listed = await execRecon(['keys', 'list', '--json'], cliEnv(pgDir));
      expect(listed.stdout).toContain(key.id);
    } finally {
      await server.stop();
    }
    expect(await runningEmbeddedPostgres(pgDir)).toBeUndefined();
  });
});

describe('recon reprocess of a job whose base is the embedded PostgreSQL', () => {
  it('starts the database the job needs: a run killed while matching is resumed without DATABASE_URL', async () => {
    const pgDir = join(dir, 'pg-reprocess');
    const out = join(dir, 'out-reprocess');
    await execRecon(['base', 'load', day.basePath], cliEnv(pgDir));
    const env = cliEnv(pgDir, {
      RECON_FIXED_NOW: '2026-11-22T06:00:00.000Z',
      // TEST ONLY: each shard waits 2 s, so the kill lands in the middle of matching.
      RECON_TEST_MATCHER_DELAY_MS: '2000',
    });
    const child = spawn(
      process.execPath,
      reconArgv([
        'run',
        '--file',
        day.vendorPath,
        '--out',
        out,
        '--job-id',
        JOB,
        '--shards',
        '8',
        '--workers',
        '2',
        '--json',
      ]),
      { cwd: ROOT, env, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    const cpPath = join(out, 'checkpoints', JOB, 'checkpoint.json');
    try {
      await until(
        'a progress checkpoint with completed shards',
        async () => {
          const cp = JSON.parse(await readFile(cpPath, 'utf8')) as Checkpoint;
          return holds(cp.intermediate_data.units.shards.length >= 2);
        },
        { timeoutMs: 120_000, intervalMs: 100 },
      );
      child.kill('SIGKILL');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const cp = JSON.parse(await readFile(cpPath, 'utf8')) as Checkpoint;
    expect(cp.intermediate_data.request.base.kind).toBe('postgres');
    expect(cp.intermediate_data.units.shards.length).toBeLessThan(8);

    // The killed process's server is a leftover: reprocess stops it and starts its own.
    const { stdout } = await execRecon(['reprocess', JOB, '--out', out, '--workers', '2', '--json'], env);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      status: string;
      divergences: Record<string, number>;
    };
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.divergences).toEqual(day.expected['date-window'].divergences);
  });
});
