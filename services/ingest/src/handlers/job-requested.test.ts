import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, InMemoryJobStore, LocalFolderStore } from '@recon/adapters/embedded';
import type { EventPublisher, JobRequested, ServiceContext } from '@recon/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { handleJobRequested } from './job-requested.ts';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup() {
  dir = await mkdtemp(join(tmpdir(), 'recon-ingest-'));
  await writeFile(
    join(dir, 'f.csv'),
    'fornecedor_id;ordem_id;nome;ativo_id;data;valor\nF;O1;n;a;2026-11-20;1\n',
  );
  const published: string[] = [];
  const events: EventPublisher = {
    publish: async (type, id) => {
      published.push(`${type}|${id}`);
    },
  };
  const jobs = new InMemoryJobStore();
  const ctx: ServiceContext = {
    store: new LocalFolderStore(join(dir, 'out')),
    ingress: new LocalFolderStore(dir),
    jobs,
    events,
    clock: { now: () => new Date('2026-11-22T06:00:00Z') },
    log: createLogger('silent'),
  };
  const req: JobRequested = {
    jobId: 'JOB-20261122-000001',
    file: { key: 'f.csv' },
    base: { kind: 'csv', key: 'f.csv' },
    scope: 'date-window',
    referenceDate: '2026-11-21',
    arrivedAt: '2026-11-22T06:00:00Z',
    maxInvalidRate: 0.05,
    shardCount: 2,
    chunkBytes: 1024,
  };
  return { ctx, jobs, req, published };
}

describe('ingest under redelivery', () => {
  it('ingests again a job whose process died mid-file, with the same event ids', async () => {
    const { ctx, jobs, req, published } = await setup();
    await handleJobRequested(ctx, req);
    const first = [...published];
    expect(first).toContain('chunk.written|chunk.written:JOB-20261122-000001:vendor:0');
    // As if the process died while partitioning: the job exists, its status mid-way.
    published.length = 0;
    await jobs.setStatus(req.jobId, 'PARTITIONING', '2026-11-22T06:00:01Z');
    await handleJobRequested(ctx, req);
    expect(published).toEqual(first.filter((e) => !e.startsWith('partition.side-completed')));
  });

  it('does nothing for a job already past partitioning', async () => {
    const { ctx, jobs, req, published } = await setup();
    await handleJobRequested(ctx, req);
    published.length = 0;
    await jobs.setStatus(req.jobId, 'MATCHING', '2026-11-22T06:00:01Z');
    await handleJobRequested(ctx, req);
    expect(published).toEqual([]);
  });
});
