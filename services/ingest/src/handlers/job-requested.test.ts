import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, InMemoryJobStore, LocalFolderStore } from '@recon/adapters/embedded';
import type { EventPublisher, ServiceContext } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { handleJobRequested } from './job-requested.ts';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEADER = 'fornecedor_id;ordem_id;nome;ativo_id;data;valor\n';

async function setup(body = 'F;O1;n;a;2026-11-20;1\n') {
  dir = await mkdtemp(join(tmpdir(), 'recon-ingest-'));
  await writeFile(join(dir, 'f.csv'), `${HEADER}${body}`);
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
  const req = jobRequest('JOB-20261122-000001', {
    file: { key: 'f.csv' },
    base: { kind: 'csv', key: 'f.csv' },
    shardCount: 2,
    chunkBytes: 1024,
  });
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

/** Lines enough for several 1 KiB chunks. */
const MANY = Array.from({ length: 200 }, (_, k) => `F;O${k};nome ${k};a;2026-11-20;${k},10\n`).join('');

describe('ingest hands each chunk on while reading the next', () => {
  it('publishes every chunk, in order, once its object is stored, and counts them', async () => {
    const { ctx, jobs, req, published } = await setup(MANY);
    const stored = new Set<string>();
    const put = ctx.store.put.bind(ctx.store);
    ctx.store.put = async (key, body) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await put(key, body);
      stored.add(key);
    };
    const publish = ctx.events.publish;
    ctx.events.publish = async (type, id, payload) => {
      if (type === 'chunk.written') expect(stored.has((payload as { key: string }).key)).toBe(true);
      await publish(type, id, payload);
    };
    await handleJobRequested(ctx, req);
    const chunks = published.filter((e) => e.startsWith('chunk.written|'));
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks).toEqual(chunks.map((_, k) => `chunk.written|chunk.written:${req.jobId}:vendor:${k}`));
    const job = await jobs.getJob(req.jobId);
    expect(job?.facts).toMatchObject({ vendor_chunks: chunks.length, total_lines: 200 });
  });

  it('fails when a chunk cannot be stored, with nothing left running and no side completed', async () => {
    const { ctx, req, published } = await setup(MANY);
    let puts = 0;
    let running = 0;
    const put = ctx.store.put.bind(ctx.store);
    ctx.store.put = async (key, body) => {
      running++;
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (++puts === 3) throw new Error('the disk is full');
        await put(key, body);
      } finally {
        running--;
      }
    };
    await expect(handleJobRequested(ctx, req)).rejects.toThrow('the disk is full');
    expect(running).toBe(0);
    expect(published.filter((e) => e.startsWith('chunk.written|'))).toHaveLength(2);
    expect(published.some((e) => e.startsWith('partition.side-completed'))).toBe(false);
  });

  it('reports a file refused mid-way (not UTF-8) rather than a chunk being stored meanwhile', async () => {
    const { ctx, req, published } = await setup();
    await writeFile(
      join(dir, 'f.csv'),
      Buffer.concat([
        Buffer.from(`${HEADER}${MANY}F;O9999;n`),
        Buffer.from([0xff]),
        Buffer.from(';a;2026-11-20;1\n'),
      ]),
    );
    let running = 0;
    const put = ctx.store.put.bind(ctx.store);
    ctx.store.put = async (key, body) => {
      running++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      await put(key, body);
      running--;
    };
    await expect(handleJobRequested(ctx, req)).rejects.toMatchObject({ code: 'FILE_NOT_UTF8' });
    expect(running).toBe(0);
    expect(published.filter((e) => e.startsWith('chunk.written|')).length).toBeGreaterThan(0);
  });
});
