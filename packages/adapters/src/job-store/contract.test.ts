import { JOB_STATUSES, type JobStore } from '@recon/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { InMemoryJobStore } from './memory.ts';
import { jobIdSequence, postgresJobStoreForTests, jobRequest as request, at as t } from './testing.ts';

// The JobStore port's semantics, checked against every adapter: the in-memory store is the
// reference, the PostgreSQL store must behave the same.

const postgresStore = postgresJobStoreForTests('recon-job-store-contract-');
/** A fresh job id per test, so tests sharing a database never see each other's rows. */
const newJobId = jobIdSequence('20261122');

describe.each([
  { name: 'InMemoryJobStore', store: () => new InMemoryJobStore() as JobStore },
  { name: 'PostgresJobStore', store: postgresStore },
])('JobStore contract: $name', ({ store: getStore }) => {
  let store: JobStore;
  beforeAll(() => {
    store = getStore();
  });

  describe('jobs', () => {
    it('creates a job once: RECEIVED, with its request and first history entry', async () => {
      const jobId = newJobId();
      expect(await store.createJob(request(jobId), t(0))).toBe(true);
      expect(await store.createJob(request(jobId, { shardCount: 99 }), t(5))).toBe(false);
      expect(await store.getJob(jobId)).toEqual({
        jobId,
        request: request(jobId),
        status: 'RECEIVED',
        history: [{ status: 'RECEIVED', at: t(0) }],
        stages: {},
        facts: {},
        error: null,
      });
    });

    it('returns undefined for an unknown job, and a copy the caller cannot change the store through', async () => {
      expect(await store.getJob(newJobId())).toBeUndefined();
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      const copy = await store.getJob(jobId);
      copy!.facts.tampered = true;
      copy!.history.push({ status: 'FAILED', at: t(1) });
      const again = await store.getJob(jobId);
      expect(again!.facts).toEqual({});
      expect(again!.history).toHaveLength(1);
    });

    it('records status changes in order, ignoring a repeated status, for every status', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      await store.setStatus(jobId, 'VALIDATING', t(1));
      await store.setStatus(jobId, 'VALIDATING', t(2));
      await store.setStatus(jobId, 'PARTITIONING', t(3));
      // Same timestamp twice: order is still the order of the calls.
      await store.setStatus(jobId, 'MATCHING', t(3));
      const job = await store.getJob(jobId);
      expect(job!.status).toBe('MATCHING');
      expect(job!.history).toEqual([
        { status: 'RECEIVED', at: t(0) },
        { status: 'VALIDATING', at: t(1) },
        { status: 'PARTITIONING', at: t(3) },
        { status: 'MATCHING', at: t(3) },
      ]);

      // Every status can be stored (a status added without its migration fails here).
      for (const status of JOB_STATUSES) {
        const each = newJobId();
        await store.createJob(request(each), t(0));
        await store.setStatus(each, status, t(1));
        expect((await store.getJob(each))!.status).toBe(status);
      }
    });

    it('never moves a job out of a final status (a late handler cannot revive it)', async () => {
      for (const final of ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'] as const) {
        const jobId = newJobId();
        await store.createJob(request(jobId), t(0));
        await store.setStatus(jobId, final, t(1));
        await store.setStatus(jobId, 'VALIDATING', t(2));
        await store.setStatus(jobId, 'SUCCEEDED', t(3));
        const job = await store.getJob(jobId);
        expect(job!.status).toBe(final);
        expect(job!.history.map((h) => h.status)).toEqual(['RECEIVED', final]);
      }
    });

    it('rejects changes to an unknown job', async () => {
      const jobId = newJobId();
      await expect(store.setStatus(jobId, 'VALIDATING', t(0))).rejects.toThrow(/unknown job/);
      await expect(store.recordStageSpan(jobId, 'ingest', t(0), t(1))).rejects.toThrow(/unknown job/);
      await expect(store.mergeFacts(jobId, { a: 1 })).rejects.toThrow(/unknown job/);
      expect(await store.getJob(jobId)).toBeUndefined();
    });

    it('widens each stage span to [earliest start, latest end]', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      await store.recordStageSpan(jobId, 'partition', t(10), t(20));
      await store.recordStageSpan(jobId, 'partition', t(5), t(15)); // earlier start only
      await store.recordStageSpan(jobId, 'partition', t(12), t(30)); // later end only
      await store.recordStageSpan(jobId, 'partition', t(11), t(12)); // inside: no change
      await store.recordStageSpan(jobId, 'matcher', t(40), t(41));
      expect((await store.getJob(jobId))!.stages).toEqual({
        partition: { startedAt: t(5), finishedAt: t(30) },
        matcher: { startedAt: t(40), finishedAt: t(41) },
      });
    });

    it('merges facts shallowly: later keys replace earlier ones whole', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      await store.mergeFacts(jobId, { sha256: 'abc', lines: { total: 10, valid: 9 }, tags: ['a'] });
      await store.mergeFacts(jobId, { lines: { total: 12 }, rejected: 1, note: null });
      expect((await store.getJob(jobId))!.facts).toEqual({
        sha256: 'abc',
        lines: { total: 12 },
        tags: ['a'],
        rejected: 1,
        note: null,
      });
    });
  });

  describe('fail', () => {
    const error = { stage: 'partition', code: 'INVALID_HEADER', message: 'bad header' };

    it('fails an open job once: status, error and history set; a second failure changes nothing', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      await store.setStatus(jobId, 'PARTITIONING', t(1));
      expect(await store.fail(jobId, 'FAILED', error, t(2))).toBe(true);
      expect(await store.fail(jobId, 'TIMEOUT', { ...error, code: 'JOB_FAILED' }, t(3))).toBe(false);
      expect(await store.fail(jobId, 'FAILED', { ...error, code: 'INTERNAL' }, t(4))).toBe(false);
      const job = await store.getJob(jobId);
      expect(job!.status).toBe('FAILED');
      expect(job!.error).toEqual(error);
      expect(job!.history).toEqual([
        { status: 'RECEIVED', at: t(0) },
        { status: 'PARTITIONING', at: t(1) },
        { status: 'FAILED', at: t(2) },
      ]);
    });

    it('times out an open job, with or without an error', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      expect(await store.fail(jobId, 'TIMEOUT', null, t(9))).toBe(true);
      const job = await store.getJob(jobId);
      expect(job!.status).toBe('TIMEOUT');
      expect(job!.error).toBeNull();
    });

    it('does not fail a job that succeeded or was cancelled, nor an unknown job', async () => {
      for (const ended of ['SUCCEEDED', 'CANCELLED'] as const) {
        const jobId = newJobId();
        await store.createJob(request(jobId), t(0));
        await store.setStatus(jobId, ended, t(1));
        expect(await store.fail(jobId, 'FAILED', error, t(2))).toBe(false);
        const job = await store.getJob(jobId);
        expect(job!.status).toBe(ended);
        expect(job!.error).toBeNull();
      }
      expect(await store.fail(newJobId(), 'FAILED', error, t(0))).toBe(false);
    });

    it('announces one failure out of many concurrent ones', async () => {
      const jobId = newJobId();
      await store.createJob(request(jobId), t(0));
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.fail(jobId, i % 2 ? 'FAILED' : 'TIMEOUT', { ...error, message: `#${i}` }, t(i + 1)),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect((await store.getJob(jobId))!.history).toHaveLength(2);
    });
  });

  describe('barriers', () => {
    it('fires on the unit that completes it, once expected is known', async () => {
      const jobId = newJobId();
      expect(await store.setExpected(jobId, 'shards', 3)).toBe(false);
      expect(await store.completeUnit(jobId, 'shards', 'shard-0001', { n: 1 })).toBe(false);
      expect(await store.completeUnit(jobId, 'shards', 'shard-0002', { n: 2 })).toBe(false);
      expect(await store.completeUnit(jobId, 'shards', 'shard-0002', { n: 2 })).toBe(false); // redelivered
      expect(await store.completeUnit(jobId, 'shards', 'shard-0000', { n: 0 })).toBe(true);
      // After firing: redeliveries, new units and new expected counts never fire again.
      expect(await store.completeUnit(jobId, 'shards', 'shard-0000', { n: 0 })).toBe(false);
      expect(await store.completeUnit(jobId, 'shards', 'shard-0003', { n: 3 })).toBe(false);
      expect(await store.setExpected(jobId, 'shards', 3)).toBe(false);
      expect(await store.setExpected(jobId, 'shards', 4)).toBe(false);
    });

    it('fires on setExpected when the units are already there (expected set last)', async () => {
      const jobId = newJobId();
      expect(await store.completeUnit(jobId, 'chunks', 'vendor-00001', null)).toBe(false);
      expect(await store.completeUnit(jobId, 'chunks', 'vendor-00000', null)).toBe(false);
      expect(await store.setExpected(jobId, 'chunks', 3)).toBe(false);
      expect(await store.setExpected(jobId, 'chunks', 2)).toBe(true);
      expect(await store.setExpected(jobId, 'chunks', 2)).toBe(false);
    });

    it('fires at once for an expected count of zero', async () => {
      const jobId = newJobId();
      expect(await store.setExpected(jobId, 'chunks', 0)).toBe(true);
      expect(await store.completeUnit(jobId, 'chunks', 'vendor-00000', null)).toBe(false);
      expect(await store.listUnits(jobId, 'chunks')).toEqual([{ unit: 'vendor-00000', data: null }]);
    });

    it('never fires without an expected count', async () => {
      const jobId = newJobId();
      for (let i = 0; i < 5; i++) expect(await store.completeUnit(jobId, 'b', `u${i}`, i)).toBe(false);
    });

    it('keeps barriers apart by job and by name', async () => {
      const [a, b] = [newJobId(), newJobId()];
      await store.setExpected(a, 'sides', 2);
      await store.setExpected(b, 'sides', 1);
      await store.setExpected(a, 'base', 1);
      expect(await store.completeUnit(a, 'sides', 'vendor', 1)).toBe(false);
      expect(await store.completeUnit(b, 'sides', 'vendor', 2)).toBe(true);
      expect(await store.completeUnit(a, 'base', 'vendor', 3)).toBe(true);
      expect(await store.completeUnit(a, 'sides', 'base', 4)).toBe(true);
      expect(await store.listUnits(a, 'sides')).toEqual([
        { unit: 'base', data: 4 },
        { unit: 'vendor', data: 1 },
      ]);
      expect(await store.listUnits(b, 'sides')).toEqual([{ unit: 'vendor', data: 2 }]);
    });

    it('lists units by name with the data of their first completion, kept as JSON', async () => {
      const jobId = newJobId();
      const data = {
        key: 'work/x/results/shard-0002.json',
        counts: { TIPO_1: 3, TIPO_2: 0 },
        ranges: [{ key: 'p', start: 0, end: 10 }],
        ok: true,
        none: null,
      };
      await store.completeUnit(jobId, 'shards', 'shard-0010', [1, 'two', { three: 3 }]);
      await store.completeUnit(jobId, 'shards', 'shard-0002', data);
      await store.completeUnit(jobId, 'shards', 'shard-0002', { replaced: true });
      await store.completeUnit(jobId, 'shards', 'Shard-0003', 'text');
      await store.completeUnit(jobId, 'shards', 'shard-0001', 42.5);
      expect(await store.listUnits(jobId, 'shards')).toEqual([
        { unit: 'Shard-0003', data: 'text' }, // upper case sorts first, as in JavaScript
        { unit: 'shard-0001', data: 42.5 },
        { unit: 'shard-0002', data },
        { unit: 'shard-0010', data: [1, 'two', { three: 3 }] },
      ]);
      expect(await store.listUnits(newJobId(), 'shards')).toEqual([]);
    });
  });
});
