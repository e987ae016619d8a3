import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryJobStore, LocalFolderStore } from '@recon/adapters/embedded';
import type { EventPublisher, JobRequested } from '@recon/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DistributedJobControl } from './distributed.ts';

/** A job store where another process creates a job under the first `taken` ids this one tries. */
class RacedJobStore extends InMemoryJobStore {
  readonly tried: string[] = [];

  constructor(private taken: number) {
    super();
  }

  override async createJob(request: JobRequested, at: string): Promise<boolean> {
    this.tried.push(request.jobId);
    if (this.taken > 0) {
      this.taken--;
      await super.createJob({ ...request, file: { key: 'uploads/someone-else.csv' } }, at);
    }
    return super.createJob(request, at);
  }
}

describe('recon serve --distributed: submitting an upload', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recon-serve-'));
    await writeFile(
      join(dir, 'upload.csv'),
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor\nF1;ORD-1;Nome;A1;2026-11-21;10.00\n',
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('announces only a job it created: an id taken meanwhile by another job is not reused', async () => {
    const jobs = new RacedJobStore(2);
    const published: { type: string; payload: unknown }[] = [];
    const events: EventPublisher = {
      publish: async (type, _id, payload) => {
        published.push({ type, payload });
      },
    };
    const store = new LocalFolderStore(dir);
    const control = new DistributedJobControl({
      jobs,
      store,
      ingress: store,
      events,
      baseRelation: 'transacoes',
      scope: 'date-window',
      reprocess: async () => undefined,
      now: () => new Date('2026-11-22T10:00:00Z'),
    });

    const result = await control.submit({ key: 'upload.csv' });

    expect(jobs.tried).toHaveLength(3);
    expect(result).toEqual({ jobId: jobs.tried[2], status: 'RECEIVED', alreadyReconciled: false });
    expect((await jobs.getJob(result.jobId))?.request.file.key).toBe('upload.csv');
    for (const taken of jobs.tried.slice(0, 2)) {
      expect((await jobs.getJob(taken))?.request.file.key).toBe('uploads/someone-else.csv');
    }
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'job.requested',
      payload: { jobId: result.jobId, file: { key: 'upload.csv' }, referenceDate: '2026-11-21' },
    });
  });

  it('the same file again: 200 "already reconciled" once its job succeeded, a conflict while it runs', async () => {
    const jobs = new InMemoryJobStore();
    const store = new LocalFolderStore(dir);
    const control = new DistributedJobControl({
      jobs,
      store,
      ingress: store,
      events: { publish: async () => {} },
      baseRelation: 'transacoes',
      scope: 'date-window',
      reprocess: async () => undefined,
      now: () => new Date('2026-11-22T10:00:00Z'),
    });
    const first = await control.submit({ key: 'upload.csv' });
    await jobs.setStatus(first.jobId, 'MATCHING', '2026-11-22T10:00:01Z');
    await expect(control.submit({ key: 'upload.csv' })).rejects.toMatchObject({
      code: 'JOB_RUNNING',
      message: expect.stringContaining(first.jobId),
    });
    await jobs.setStatus(first.jobId, 'SUCCEEDED', '2026-11-22T10:00:02Z');
    expect(await control.submit({ key: 'upload.csv' })).toEqual({
      jobId: first.jobId,
      status: 'SUCCEEDED',
      alreadyReconciled: true,
    });
  });
});
