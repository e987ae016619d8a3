import { InMemoryJobStore } from '@recon/adapters/embedded';
import {
  BARRIERS,
  type JobRequested,
  resumeJob,
  type ServiceContext,
  type VendorChunkUnit,
} from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { describe, expect, it } from 'vitest';
import { handleSideCompleted, shardSlices } from './fan-in.ts';

const AT = '2026-11-22T06:00:00.000Z';
const request = jobRequest('JOB-20261122-000001', {
  base: { kind: 'csv', key: 'base.csv' },
  scope: 'all',
  arrivedAt: AT,
  shardCount: 2,
  chunkBytes: 8 << 20,
});
const chunk: VendorChunkUnit = {
  index: 0,
  chunkKey: 'work/x/chunks/vendor-00000.csv',
  firstLine: 2,
  part: { key: 'work/x/parts/vendor-00000.bin', offsets: [0, 10, 20] },
  records: 2,
  valid: 2,
  invalid: 0,
  rejectsKey: null,
  minData: '2026-11-20',
  maxData: '2026-11-20',
};

describe('handleSideCompleted', () => {
  it("sends a reprocessed job's shards under new ids, so messages of the stopped run cannot make them duplicates", async () => {
    const jobs = new InMemoryJobStore();
    const ids: string[] = [];
    const events = {
      publish: async (type: string, id: string) => {
        if (type === 'shard.ready') ids.push(id);
      },
    };
    const ctx = { jobs, events, clock: { now: () => new Date(AT) } } as unknown as ServiceContext;
    await jobs.createJob(request, AT);
    await jobs.setStatus(request.jobId, 'PARTITIONING', AT);
    await jobs.mergeFacts(request.jobId, { vendor_chunks: 1 });
    await jobs.completeUnit(request.jobId, BARRIERS.vendorChunks, '00000', chunk);
    await jobs.setExpected(request.jobId, BARRIERS.vendorChunks, 1);
    await jobs.completeUnit(request.jobId, BARRIERS.base, '00', {
      parts: [],
      rows: 0,
      invalid: 0,
      rejectsKey: null,
    });
    await jobs.setExpected(request.jobId, BARRIERS.base, 1);
    await jobs.setExpected(request.jobId, BARRIERS.partition, 2);
    await handleSideCompleted(ctx, { jobId: request.jobId, side: 'vendor' });
    await handleSideCompleted(ctx, { jobId: request.jobId, side: 'base' });
    expect(ids).toEqual([`shard.ready:${request.jobId}:0`, `shard.ready:${request.jobId}:1`]);

    // Cancelled mid-matching, then reprocessed twice: each run's shards have ids of their own.
    for (const run of [1, 2]) {
      await jobs.fail(request.jobId, 'CANCELLED', { stage: 'matching', code: 'CANCELLED', message: 'x' }, AT);
      ids.length = 0;
      expect(await resumeJob({ jobs, events }, request.jobId, undefined, AT)).toBe('match');
      expect(ids).toEqual([]);
      await handleSideCompleted(ctx, { jobId: request.jobId, side: 'base' });
      expect(ids).toEqual([0, 1].map((s) => `shard.ready:${request.jobId}:${s}:resume-${run}`));
    }
  });
});

describe('handleSideCompleted with a database base in date-window scope', () => {
  const dbRequest: JobRequested = {
    ...request,
    jobId: 'JOB-20261122-000002',
    base: { kind: 'postgres', relation: 'transacoes' },
    scope: 'date-window',
  };

  /** Runs both sides; returns what was published and what the base relation was asked. */
  async function run(lookupable: boolean, units: { lookupMissing?: boolean }[]) {
    const jobs = new InMemoryJobStore();
    const published: { type: string; payload: Record<string, unknown> }[] = [];
    const asked: string[] = [];
    const ctx = {
      jobs,
      events: {
        publish: async (type: string, _id: string, payload: Record<string, unknown>) => {
          published.push({ type, payload });
        },
      },
      clock: { now: () => new Date(AT) },
      // The relation's answer is the only part of the base this handler asks for.
      base: {
        ordersLookupable: async (relation: string) => {
          asked.push(relation);
          return lookupable;
        },
      },
    } as unknown as ServiceContext;
    await jobs.createJob(dbRequest, AT);
    await jobs.setStatus(dbRequest.jobId, 'PARTITIONING', AT);
    await jobs.mergeFacts(dbRequest.jobId, { vendor_chunks: 1 });
    await jobs.completeUnit(dbRequest.jobId, BARRIERS.vendorChunks, '00000', chunk);
    await jobs.setExpected(dbRequest.jobId, BARRIERS.vendorChunks, 1);
    await jobs.setExpected(dbRequest.jobId, BARRIERS.base, units.length);
    await jobs.setExpected(dbRequest.jobId, BARRIERS.partition, 2);
    await handleSideCompleted(ctx, { jobId: dbRequest.jobId, side: 'vendor' });
    for (const [k, unit] of units.entries()) {
      await jobs.completeUnit(dbRequest.jobId, BARRIERS.base, `slice-0${k}`, {
        parts: [],
        rows: 0,
        invalid: 0,
        rejectsKey: null,
        ...unit,
      });
    }
    const completed = handleSideCompleted(ctx, { jobId: dbRequest.jobId, side: 'base' });
    return { published, asked, completed };
  }

  it('asks the slices for the window only when the relation can be looked up by id, and tells the matchers', async () => {
    const { published, asked, completed } = await run(true, [{ lookupMissing: true }]);
    await completed;
    expect(asked).toEqual(['transacoes']);
    const extract = published.filter((p) => p.type === 'base.extract-requested');
    expect(extract).toHaveLength(1);
    expect(extract[0]!.payload).toMatchObject({
      lookupMissing: true,
      vendorParts: [],
      window: { from: '2026-11-20', to: '2026-11-20' },
    });
    const shards = published.filter((p) => p.type === 'shard.ready');
    expect(shards.map((p) => p.payload.lookupMissing)).toEqual([true, true]);
  });

  it('otherwise sends each slice its vendor orders, and the matchers look nothing up', async () => {
    const { published, completed } = await run(false, [{}]);
    await completed;
    const extract = published.find((p) => p.type === 'base.extract-requested')!;
    expect(extract.payload.lookupMissing).toBeUndefined();
    expect(extract.payload.vendorParts).toEqual([
      { key: chunk.part.key, start: 0, end: 10 },
      { key: chunk.part.key, start: 10, end: 20 },
    ]);
    const shards = published.filter((p) => p.type === 'shard.ready');
    expect(shards).toHaveLength(2);
    expect(shards.every((p) => p.payload.lookupMissing === undefined)).toBe(true);
  });

  it('refuses base slices that disagree on it', async () => {
    const { completed } = await run(true, [{ lookupMissing: true }, {}]);
    await expect(completed).rejects.toThrow('some base slices read the window only');
  });
});

describe('shardSlices', () => {
  it('gives each part’s slice of a shard, skipping empty ones', () => {
    const parts = [
      { key: 'a', offsets: [0, 10, 10, 25] },
      { key: 'b', offsets: [0, 0, 7, 9] },
    ];
    expect(shardSlices(parts, 0)).toEqual([{ key: 'a', start: 0, end: 10 }]);
    expect(shardSlices(parts, 1)).toEqual([{ key: 'b', start: 0, end: 7 }]);
    expect(shardSlices(parts, 2)).toEqual([
      { key: 'a', start: 10, end: 25 },
      { key: 'b', start: 7, end: 9 },
    ]);
  });

  it('gives a bucketed part’s slice of a shard as one range, with the size of each bucket', () => {
    // 2 shards × 4 buckets.
    const parts = [
      { key: 'a', offsets: [0, 5, 5, 9, 20, 21, 30, 30, 44], buckets: 4 },
      { key: 'b', offsets: [0, 0, 0, 0, 0, 3, 3, 3, 3], buckets: 4 },
    ];
    expect(shardSlices(parts, 0)).toEqual([{ key: 'a', start: 0, end: 20, buckets: [5, 0, 4, 11] }]);
    expect(shardSlices(parts, 1)).toEqual([
      { key: 'a', start: 20, end: 44, buckets: [1, 9, 0, 14] },
      { key: 'b', start: 0, end: 3, buckets: [3, 0, 0, 0] },
    ]);
  });
});
