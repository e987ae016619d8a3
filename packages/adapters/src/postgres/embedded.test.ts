import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ReconError } from '@recon/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, startEmbeddedPostgres } from './embedded.ts';

// Lifecycle of the embedded server: each test needs its own start/stop on a data dir, all under
// one fresh temp dir.
let root: string;
const handles: PostgresHandle[] = [];
const children: ChildProcess[] = [];
/** Servers a test left without a handle (the orphan test), killed at the end if still alive. */
const strayServers: number[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recon-embedded-pg-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const pid of strayServers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all(handles.map((h) => h.stop()));
  await fs.rm(root, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<PostgresHandle> {
  const handle = await startEmbeddedPostgres({ dataDir });
  handles.push(handle);
  return handle;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  const content = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  return Number.parseInt(content.split('\n')[0]!, 10);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('startEmbeddedPostgres', () => {
  it('initializes, stops (idempotently) and restarts on the same data dir keeping the data', async () => {
    const dataDir = path.join(root, 'restart', 'data');
    const first = await start(dataDir);
    expect(first.url).toMatch(/^postgres:\/\/[^@]+@127\.0\.0\.1:\d+\/recon$/);
    await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$olá$$)');
    const [info] = await query<{ server_encoding: string }>(first.url, 'SHOW server_encoding');
    expect(info).toEqual({ server_encoding: 'UTF8' });
    await first.stop();
    await first.stop();
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow();
    const version = await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8');

    const second = await start(dataDir);
    expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'olá' }]);
    expect(await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).toBe(version);
    await second.stop();
    await expect(fs.access(path.join(dataDir, 'postmaster.pid'))).rejects.toThrow();
  });

  it('starts again after the server was killed with SIGKILL (stale postmaster.pid)', async () => {
    const dataDir = path.join(root, 'killed');
    const first = await start(dataDir);
    await query(first.url, 'CREATE TABLE survived (v int); INSERT INTO survived VALUES (42)');
    const pid = await postmasterPid(dataDir);
    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid));
    // The handle notices the death: stop() must not wait for an exit that already happened.
    await first.stop();
    await expect(fs.access(path.join(dataDir, 'postmaster.pid'))).resolves.toBeUndefined();

    const second = await start(dataDir);
    expect(await query(second.url, 'SELECT v FROM survived')).toEqual([{ v: 42 }]);
    await second.stop();
  });

  it('ignores a stale postmaster.pid whose pid now belongs to another live process', async () => {
    const dataDir = path.join(root, 'pid-reused');
    const first = await start(dataDir);
    const pid = await postmasterPid(dataDir);
    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid));
    await first.stop();
    // A process of the server's own OS user holds the old pid now (after a container restart
    // pids repeat): PostgreSQL alone would refuse with "lock file already exists".
    const asServerUser = process.getuid?.() === 0 ? await serverUserIds() : {};
    const squatter = spawn('sleep', ['60'], { ...asServerUser, stdio: 'ignore' });
    children.push(squatter);
    const pidFile = path.join(dataDir, 'postmaster.pid');
    const lines = (await fs.readFile(pidFile, 'utf8')).split('\n');
    lines[0] = String(squatter.pid);
    await fs.writeFile(pidFile, lines.join('\n'));

    const second = await start(dataDir);
    expect(await query(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(alive(squatter.pid!)).toBe(true);
    await second.stop();
    squatter.kill('SIGKILL');
  });

  it('refuses a data dir whose server is still running for a live process, naming the dir', async () => {
    const dataDir = path.join(root, 'busy');
    const first = await start(dataDir);
    const error = await startEmbeddedPostgres({ dataDir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).code).toBe('INVALID_CONFIG');
    expect((error as ReconError).message).toContain(dataDir);
    expect((error as ReconError).message).toMatch(/already running/);
    // The running server was not disturbed.
    expect(await query(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await first.stop();
  });

  it('takes over a server orphaned by a killed recon process', async () => {
    const dataDir = path.join(root, 'orphan');
    const script = path.join(root, 'orphan-owner.mjs');
    const embedded = pathToFileURL(
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'embedded.ts'),
    ).href;
    await fs.writeFile(
      script,
      `const { startEmbeddedPostgres } = await import(${JSON.stringify(embedded)});
       const h = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
       console.log(h.url);
       setInterval(() => {}, 1000);`,
    );
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const owner = spawn(process.execPath, ['--import', tsx, script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(owner);
    let output = '';
    owner.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until(() => output.includes('\n'), 60_000);
    const url = output.trim();
    await query(url, 'CREATE TABLE orphaned (v text); INSERT INTO orphaned VALUES ($$still here$$)');
    const orphanPid = await postmasterPid(dataDir);
    strayServers.push(orphanPid);

    owner.kill('SIGKILL');
    await until(() => owner.exitCode !== null || owner.signalCode !== null);
    // The server outlives the process that started it.
    expect(alive(orphanPid)).toBe(true);

    const handle = await start(dataDir);
    expect(await query(handle.url, 'SELECT v FROM orphaned')).toEqual([{ v: 'still here' }]);
    expect(await postmasterPid(dataDir)).not.toBe(orphanPid);
    await handle.stop();
  });

  it('refuses a non-empty directory that holds no cluster', async () => {
    const dataDir = path.join(root, 'not-a-cluster');
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(path.join(dataDir, 'notes.txt'), 'hello');
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining(dataDir),
    });
  });
});

async function serverUserIds(): Promise<{ uid: number; gid: number }> {
  const st = await fs.stat(path.join(root, 'pid-reused'));
  return { uid: st.uid, gid: st.gid };
}
