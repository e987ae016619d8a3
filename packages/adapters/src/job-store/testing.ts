import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { JobRequested } from '@recon/contracts';
import { jobRequest as contractsJobRequest } from '@recon/contracts/testing';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresHandle, startEmbeddedPostgres } from '../postgres/embedded.ts';
import { createPostgresJobStore, type PostgresJobStore } from './postgres.ts';

/**
 * TEST ONLY: a PostgreSQL job store on a real embedded server of its own, started before the
 * file's tests and removed after them. Returns the store's getter (valid inside tests).
 */
export function postgresJobStoreForTests(prefix: string): () => PostgresJobStore {
  let root: string;
  let server: PostgresHandle | undefined;
  let close: (() => Promise<void>) | undefined;
  let store: PostgresJobStore | undefined;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data') });
    const created = await createPostgresJobStore(server.url);
    store = created.store;
    close = created.close;
  });
  afterAll(async () => {
    await close?.();
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });
  return () => {
    if (store === undefined) throw new Error('the PostgreSQL job store is not started yet');
    return store;
  };
}

/** Job ids that never repeat within a test file, so tests sharing a database never meet. */
export function jobIdSequence(day: string): () => string {
  let sequence = 0;
  return () => {
    sequence += 1;
    return `JOB-${day}-${String(sequence).padStart(6, '0')}`;
  };
}

/** A job request for the job-store tests (a PostgreSQL base, 16 shards), with `overrides`. */
export function jobRequest(jobId: string, overrides: Partial<JobRequested> = {}): JobRequested {
  return contractsJobRequest(jobId, {
    file: { key: `incoming/${jobId}.csv` },
    base: { kind: 'postgres', relation: 'public.ordens' },
    referenceDate: '2026-11-20',
    arrivedAt: '2026-11-22T10:00:00.000Z',
    shardCount: 16,
    chunkBytes: 8 * 1024 * 1024,
    ...overrides,
  });
}

/** ISO time `seconds` after 2026-11-22T10:00:00Z, as the services write them (toISOString). */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 10, 22, 10, 0, 0) + seconds * 1000).toISOString();
}
