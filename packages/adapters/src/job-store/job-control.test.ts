import type { JobStore } from '@recon/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { InMemoryJobStore } from './memory.ts';
import { jobIdSequence, postgresJobStoreForTests, jobRequest as request, at as t } from './testing.ts';

// Job control (RULES §7) in the job store port: cancel, reopen for a reprocess, one job per
// reference date, finding a file's jobs by SHA-256 — the same on both adapters.

const pgStore = postgresJobStoreForTests('recon-job-control-');
const newJobId = jobIdSequence('20261123');
let unique = 0;
/** Each test its own reference date, so tests sharing a database never meet. */
function newDate(): string {
  unique += 1;
  return new Date(Date.UTC(2020, 0, 1) + unique * 86_400_000).toISOString().slice(0, 10);
}
const sha = (n: number) => n.toString(16).padStart(64, '0');

describe.each([
  { name: 'InMemoryJobStore', store: () => new InMemoryJobStore() as JobStore },
  { name: 'PostgresJobStore', store: (): JobStore => pgStore() },
])('job control: $name', ({ store: getStore }) => {
  let store: JobStore;
  beforeAll(() => {
    store = getStore();
  });

  it('cancels an open job once', async () => {
    const id = newJobId();
    await store.createJob(request(id), t(0));
    await store.setStatus(id, 'MATCHING', t(1));
    const error = { stage: 'matching', code: 'CANCELLED', message: 'by an operator' };
    expect(await store.fail(id, 'CANCELLED', error, t(2))).toBe(true);
    expect(await store.fail(id, 'TIMEOUT', error, t(3))).toBe(false);
    const job = await store.getJob(id);
    expect(job).toMatchObject({ status: 'CANCELLED', error });
    expect(job?.history.at(-1)).toEqual({ status: 'CANCELLED', at: t(2) });
  });

  it('reopens an ended job for a reprocess (never an open or SUCCEEDED one), forgetting the named barriers', async () => {
    const id = newJobId();
    await store.createJob(request(id), t(0));
    expect(await store.reopen(id, 'RECEIVED', t(1), [])).toBe(false); // still open
    await store.setExpected(id, 'partition', 2);
    await store.completeUnit(id, 'partition', 'vendor', null);
    expect(await store.completeUnit(id, 'partition', 'base', null)).toBe(true);
    await store.setExpected(id, 'shards', 4);
    await store.completeUnit(id, 'shards', '000001', { n: 1 });
    await store.fail(id, 'TIMEOUT', { stage: 'matching', code: 'DEADLINE_EXCEEDED', message: 'late' }, t(2));

    expect(await store.reopen(id, 'PARTITIONING', t(3), ['partition'])).toBe(true);
    const job = await store.getJob(id);
    expect(job).toMatchObject({ status: 'PARTITIONING', error: null });
    expect(job?.history.map((h) => h.status)).toEqual(['RECEIVED', 'TIMEOUT', 'PARTITIONING']);
    // The partition barrier can fire again; the shards barrier kept its units.
    expect(await store.listUnits(id, 'partition')).toEqual([]);
    await store.setExpected(id, 'partition', 2);
    await store.completeUnit(id, 'partition', 'vendor', null);
    expect(await store.completeUnit(id, 'partition', 'base', null)).toBe(true);
    expect(await store.listUnits(id, 'shards')).toEqual([{ unit: '000001', data: { n: 1 } }]);
    // Open again: a second reopen is refused; a SUCCEEDED job never reopens.
    expect(await store.reopen(id, 'RECEIVED', t(4), [])).toBe(false);
    await store.setStatus(id, 'SUCCEEDED', t(5));
    expect(await store.reopen(id, 'RECEIVED', t(6), [])).toBe(false);
    expect(await store.reopen('JOB-20991231-999999', 'RECEIVED', t(6), [])).toBe(false);
  });

  it('one job per reference date: the claim holds for its job, is refused while it runs, free once it ended', async () => {
    const date = newDate();
    const [a, b] = [newJobId(), newJobId()];
    await store.createJob(request(a, { referenceDate: date }), t(0));
    await store.createJob(request(b, { referenceDate: date }), t(0));
    expect(await store.claimReferenceDate(date, a, t(1))).toBeNull();
    expect(await store.claimReferenceDate(date, a, t(2))).toBeNull(); // a redelivery
    expect(await store.claimReferenceDate(date, b, t(2))).toBe(a);
    await store.setStatus(a, 'SUCCEEDED', t(3));
    expect(await store.claimReferenceDate(date, b, t(4))).toBeNull();
    expect(await store.claimReferenceDate(date, a, t(5))).toBe(b); // b holds it now, and runs
  });

  it('finds the SUCCEEDED or running job of a file by SHA-256; failed ones do not count', async () => {
    const [a, b, c] = [newJobId(), newJobId(), newJobId()];
    const s = sha(++unique + 1_000);
    expect(await store.findFileJob(s)).toBeUndefined();
    await store.createJob(request(a, { fileSha256: s }), t(0));
    await store.fail(a, 'FAILED', { stage: 'ingest', code: 'X', message: 'x' }, t(1));
    expect(await store.findFileJob(s)).toBeUndefined();
    await store.createJob(request(b), t(2)); // the hash only known from ingest's facts
    await store.mergeFacts(b, { file_sha256: s });
    expect(await store.findFileJob(s)).toEqual({ jobId: b, status: 'RECEIVED' });
    await store.setStatus(b, 'SUCCEEDED', t(3));
    await store.createJob(request(c, { fileSha256: s }), t(4));
    expect(await store.findFileJob(s)).toEqual({ jobId: b, status: 'SUCCEEDED' });
  });
});

describe('PostgresJobStore only', () => {
  it('a reopened job forgets its processed-message keys (its messages are handled again)', async () => {
    const id = newJobId();
    await pgStore().createJob(request(id), t(0));
    await pgStore().markProcessed(`matcher:shard.ready:${id}:1`);
    await pgStore().markProcessed(`notify:job.failed:${id}#slack`);
    await pgStore().markProcessed('matcher:shard.ready:JOB-20000101-000001:1');
    await pgStore().fail(id, 'TIMEOUT', null, t(1));
    expect(await pgStore().reopen(id, 'MATCHING', t(2), [])).toBe(true);
    expect(await pgStore().isProcessed(`matcher:shard.ready:${id}:1`)).toBe(false);
    expect(await pgStore().isProcessed(`notify:job.failed:${id}#slack`)).toBe(false);
    expect(await pgStore().isProcessed('matcher:shard.ready:JOB-20000101-000001:1')).toBe(true);
  });

  it('appends retries atomically from concurrent callers, and lists open jobs', async () => {
    const id = newJobId();
    await pgStore().createJob(request(id), t(0));
    await pgStore().mergeFacts(id, { total_lines: 7 });
    await Promise.all(Array.from({ length: 20 }, (_, k) => pgStore().appendFact(id, 'retries', { k })));
    const facts = (await pgStore().getJob(id))!.facts;
    expect(facts.total_lines).toBe(7);
    expect((facts.retries as { k: number }[]).map((r) => r.k).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, k) => k),
    );
    expect(await pgStore().openJobIds()).toContain(id);
    await pgStore().setStatus(id, 'SUCCEEDED', t(1));
    expect(await pgStore().openJobIds()).not.toContain(id);
  });
});
