import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReconError } from '@recon/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, startEmbeddedPostgres } from '../postgres/embedded.ts';
import { JOB_STORE_MIGRATION_TABLE, MIGRATION_ADVISORY_LOCK, migrateToLatest } from './migrate.ts';
import { JOB_STORE_MIGRATIONS } from './migrations/index.ts';
import { createJobStoreDatabase, createPostgresJobStore, type PostgresJobStore } from './postgres.ts';

// One real server for the whole file, on its own temp data dir.
let root: string;
let dataDir: string;
let server: PostgresHandle;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recon-job-store-pg-'));
  dataDir = path.join(root, 'data');
  server = await startEmbeddedPostgres({ dataDir });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await server?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

async function openStore(url = server.url, maxConnections?: number): Promise<PostgresJobStore> {
  const { store, close } = await createPostgresJobStore(url, { maxConnections });
  closers.push(close);
  return store;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A new empty database on the file's server, for tests that need a schema-less start. */
async function freshDatabase(name: string): Promise<string> {
  await sql(server.url, `CREATE DATABASE "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Polls `query` until it returns a row (a session reaching a lock wait cannot be awaited otherwise). */
async function waitFor(url: string, query: string): Promise<void> {
  for (const started = Date.now(); (await sql(url, query)).length === 0; await sleep(20)) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for: ${query}`);
  }
}

/** Deterministic shuffle (xorshift), so a failing iteration can be replayed. */
function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('barriers across processes', () => {
  const UNITS = 50;
  const STORES = 8;
  const ITERATIONS = 30;

  it(`fires exactly once when ${UNITS} units, duplicates and setExpected race from ${STORES} connections (${ITERATIONS} rounds)`, async () => {
    // Eight store instances with one connection each: eight sessions, as eight processes would have.
    const stores = await Promise.all(Array.from({ length: STORES }, () => openStore(server.url, 1)));
    const failures: string[] = [];
    for (let round = 0; round < ITERATIONS; round++) {
      const jobId = `JOB-20261122-${String(round).padStart(6, '0')}`;
      const barrier = 'shards';
      const ops: { label: string; run: () => Promise<boolean> }[] = [];
      for (let u = 0; u < UNITS; u++) {
        const unit = `shard-${String(u).padStart(4, '0')}`;
        const store = stores[u % STORES]!;
        ops.push({ label: unit, run: () => store.completeUnit(jobId, barrier, unit, { unit, round }) });
        // Every fifth unit is redelivered to another process.
        if (u % 5 === 0) {
          const other = stores[(u + 3) % STORES]!;
          ops.push({
            label: `${unit} again`,
            run: () => other.completeUnit(jobId, barrier, unit, { unit, round }),
          });
        }
      }
      const setter = stores[round % STORES]!;
      ops.push({ label: 'setExpected', run: () => setter.setExpected(jobId, barrier, UNITS) });
      // A repeated setExpected (the producer's message redelivered) must not fire a second time.
      ops.push({ label: 'setExpected again', run: () => setter.setExpected(jobId, barrier, UNITS) });
      shuffle(ops, round + 1);

      const outcomes = await Promise.all(ops.map((op) => op.run()));
      const fired = ops.filter((_, i) => outcomes[i]).map((op) => op.label);
      if (fired.length !== 1) failures.push(`round ${round}: fired by [${fired.join(', ')}]`);

      const units = await stores[0]!.listUnits<{ unit: string }>(jobId, barrier);
      expect(units.map((u) => u.unit)).toEqual(
        Array.from({ length: UNITS }, (_, u) => `shard-${String(u).padStart(4, '0')}`),
      );
    }
    expect(failures).toEqual([]);
    const [row] = await sql<{ fired: string }>(
      server.url,
      `SELECT count(*) FILTER (WHERE fired) AS fired FROM job_barriers WHERE job_id LIKE 'JOB-20261122-%' AND name = 'shards'`,
    );
    expect(Number(row!.fired)).toBe(ITERATIONS);
  });

  it(`fires exactly once when the last ${STORES} units complete at the same moment (${ITERATIONS} rounds)`, async () => {
    // The tightest race: no redelivery comes later to make up for a missed decision.
    const stores = await Promise.all(Array.from({ length: STORES }, () => openStore(server.url, 1)));
    const failures: string[] = [];
    for (let round = 0; round < ITERATIONS; round++) {
      const jobId = `JOB-20261123-${String(round).padStart(6, '0')}`;
      expect(await stores[0]!.setExpected(jobId, 'sides', STORES)).toBe(false);
      const outcomes = await Promise.all(
        stores.map((store, s) => store.completeUnit(jobId, 'sides', `u${s}`, s)),
      );
      const fired = outcomes.filter(Boolean).length;
      if (fired !== 1) failures.push(`round ${round}: fired ${fired} times`);
    }
    expect(failures).toEqual([]);
  });
});

describe('processed messages', () => {
  it('marks a message key once, also under concurrent deliveries', async () => {
    const [a, b] = await Promise.all([openStore(), openStore()]);
    expect(await a.markProcessed('shard.ready/JOB-20261122-000001/0003')).toBe(true);
    expect(await b.markProcessed('shard.ready/JOB-20261122-000001/0003')).toBe(false);
    expect(await a.markProcessed('shard.ready/JOB-20261122-000001/0004')).toBe(true);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).markProcessed('matching.completed/JOB-1')),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });
});

describe('migrations', () => {
  it('migrates an empty database when several processes start at once, and records the version', async () => {
    const url = await freshDatabase('migrate_concurrently');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
    const names = Object.keys(JOB_STORE_MIGRATIONS).sort();
    const applied = await sql<{ name: string }>(
      url,
      `SELECT name FROM ${JOB_STORE_MIGRATION_TABLE} ORDER BY name`,
    );
    expect(applied.map((r) => r.name)).toEqual(names);
    // Every store works on the migrated schema.
    expect(await stores[3]!.setExpected('JOB-20261122-000001', 'b', 0)).toBe(true);
  });

  it('is idempotent: running it again applies nothing and changes nothing', async () => {
    const url = await freshDatabase('migrate_twice');
    const db = createJobStoreDatabase(url);
    try {
      expect(await migrateToLatest(db)).toEqual(Object.keys(JOB_STORE_MIGRATIONS).sort());
      expect(await migrateToLatest(db)).toEqual([]);
      expect(await Promise.all([migrateToLatest(db), migrateToLatest(db)])).toEqual([[], []]);
      const tables = await sql<{ table_name: string }>(
        url,
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      );
      expect(tables.map((r) => r.table_name)).toEqual([
        'job_barrier_units',
        'job_barriers',
        'job_date_locks',
        'job_stage_spans',
        'job_status_history',
        'job_store_migration',
        'job_store_migration_lock',
        'jobs',
        'processed_messages',
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('waits for the migration lock another process holds', async () => {
    const url = await freshDatabase('migrate_waits');
    const other = new pg.Client(url);
    await other.connect();
    const db = createJobStoreDatabase(url);
    try {
      await other.query(`SELECT pg_advisory_lock(${MIGRATION_ADVISORY_LOCK})`);
      let done = false;
      const migration = migrateToLatest(db).finally(() => {
        done = true;
      });
      await waitFor(
        url,
        `SELECT 1 FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = 'migrate_waits'`,
      );
      expect(done).toBe(false);
      expect(await sql(url, `SELECT 1 FROM pg_tables WHERE tablename = 'jobs'`)).toEqual([]);
      await other.query(`SELECT pg_advisory_unlock(${MIGRATION_ADVISORY_LOCK})`);
      expect(await migration).toEqual(Object.keys(JOB_STORE_MIGRATIONS).sort());
    } finally {
      await other.end();
      await db.destroy();
    }
  });

  it('reports an unreachable database as a transient error naming it', async () => {
    const url = new URL(server.url);
    url.port = '1'; // nothing listens there
    const error = await createPostgresJobStore(url.toString()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).transient).toBe(true);
    expect((error as ReconError).message).toMatch(
      /job store at 127\.0\.0\.1:1\/recon: job store unavailable/,
    );
  });
});

/** Runs `call` until it succeeds; only the first attempt may fail, and only with the transient error. */
async function succeedsWithinTwoCalls<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).transient).toBe(true);
    expect((error as ReconError).message).toMatch(/^job store unavailable: /);
    return await call();
  }
}

/**
 * A TCP proxy in front of the server that can make every open connection silently dead, as
 * after a failover or a NAT timeout: nothing tells the client, and its next write is answered
 * with a reset. New connections go through as before.
 */
async function startProxy(target: URL): Promise<{
  url: string;
  killConnections(): void;
  resetConnections(): void;
  close(): Promise<void>;
}> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const dead = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    killConnections() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.upstream.removeAllListeners('close').destroy();
        pair.client.removeAllListeners('close').once('data', () => pair.client.resetAndDestroy());
        pair.client.resume(); // unpipe paused it: without this its 'data' never comes
        dead.add(pair.client);
      }
    },
    /** Resets every open connection now (the client sees ECONNRESET even mid-query). */
    resetConnections() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.upstream.destroy();
        pair.client.resetAndDestroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        for (const socket of dead) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('connection loss', () => {
  it('retries a call that meets pooled connections that died silently', async () => {
    const proxy = await startProxy(new URL(server.url));
    closers.push(proxy.close);
    const store = await openStore(proxy.url, 4);
    const jobId = 'JOB-20261124-000003';
    expect(await store.setExpected(jobId, 'b', 3)).toBe(false);
    // Every pooled connection busy at once, so the pool holds four idle ones afterwards.
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.listUnits(jobId, `warm-${i}`)));
    proxy.killConnections();
    // Each of these meets up to four dead connections first: a transaction that fails at BEGIN,
    // and a read, are retried on a new connection.
    expect(await store.completeUnit(jobId, 'b', 'u1', 1)).toBe(false);
    proxy.killConnections();
    expect(await store.listUnits(jobId, 'b')).toEqual([{ unit: 'u1', data: 1 }]);
    proxy.killConnections();
    expect(await store.markProcessed(`${jobId}/u2`)).toBe(true);
    expect(await store.completeUnit(jobId, 'b', 'u2', 2)).toBe(false);
    expect(await store.completeUnit(jobId, 'b', 'u3', 3)).toBe(true);
  });

  it('does not retry a transaction that lost its connection after it started', async () => {
    // It may have committed with only the answer lost: a rerun could answer differently.
    const proxy = await startProxy(new URL(server.url));
    closers.push(proxy.close);
    const store = await openStore(proxy.url, 2);
    const jobId = 'JOB-20261124-000004';
    expect(await store.setExpected(jobId, 'b', 1)).toBe(false);

    // Another session holds the barrier row, so the call stops inside its transaction.
    const blocker = new pg.Client(server.url);
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM job_barriers WHERE job_id = $1 FOR UPDATE`, [jobId]);
      const call = store.completeUnit(jobId, 'b', 'u', 1).then(
        (fired) => ({ fired }),
        (error: unknown) => ({ error }),
      );
      await waitFor(
        server.url,
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'recon-job-store'`,
      );
      proxy.resetConnections();
      await blocker.query('ROLLBACK'); // a (wrong) retry would now go through
      const outcome = await call;
      expect(outcome).toMatchObject({ error: { code: 'INTERNAL', transient: true } });
      expect((outcome as { error: Error }).error.message).toMatch(/^job store unavailable: /);
    } finally {
      await blocker.end();
    }
    // The redelivered message completes the unit, and fires the barrier once.
    expect(await store.completeUnit(jobId, 'b', 'u', 1)).toBe(true);
    expect(await store.completeUnit(jobId, 'b', 'u', 1)).toBe(false);
  });

  it('recovers when the server ends its connections (admin kill)', async () => {
    // Its own database, so only this store's sessions are ended.
    const url = await freshDatabase('admin_kill');
    const store = await openStore(url, 4);
    const jobId = 'JOB-20261124-000001';
    expect(await store.setExpected(jobId, 'b', 2)).toBe(false);
    // Every pooled connection busy at once, so the pool holds several idle ones afterwards.
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.listUnits(jobId, `warm-${i}`)));
    // Waits (up to 5 s) until each backend is gone.
    const killed = await sql<{ ended: boolean }>(
      server.url,
      `SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity WHERE datname = 'admin_kill'`,
    );
    expect(killed.length).toBeGreaterThanOrEqual(4);
    expect(killed.every((k) => k.ended)).toBe(true);
    expect(await succeedsWithinTwoCalls(() => store.completeUnit(jobId, 'b', 'u1', 1))).toBe(false);
    expect(await store.completeUnit(jobId, 'b', 'u2', 2)).toBe(true);
  });

  // Last in the file: it restarts the server the other tests use.
  it('fails with a transient error while PostgreSQL is down, and works again after it restarts', async () => {
    const store = await openStore();
    const jobId = 'JOB-20261124-000002';
    const port = Number(new URL(server.url).port);
    expect(await store.setExpected(jobId, 'b', 1)).toBe(false);

    await server.stop();
    const down = await store.getJob(jobId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(down).toBeInstanceOf(ReconError);
    expect(down).toMatchObject({ code: 'INTERNAL', transient: true });
    expect((down as ReconError).message).toMatch(/^job store unavailable: /);

    server = await startEmbeddedPostgres({ dataDir, port });
    expect(await succeedsWithinTwoCalls(() => store.completeUnit(jobId, 'b', 'u', 'kept'))).toBe(true);
    expect(await store.listUnits(jobId, 'b')).toEqual([{ unit: 'u', data: 'kept' }]);
  });
});
