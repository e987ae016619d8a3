import type {
  EndedStatus,
  JobListFilter,
  JobQueries,
  JobRecord,
  JobRequested,
  JobStatus,
  JobStore,
} from '@recon/contracts';

/** Statuses a job never leaves. */
export const FINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'];

interface Barrier {
  expected: number | null;
  units: Map<string, unknown>;
  fired: boolean;
}

/**
 * The job store of one process (embedded runtime): every call runs to completion on the event
 * loop, so each barrier check is atomic. The PostgreSQL job store gives the same guarantees
 * across processes with transactions.
 */
export class InMemoryJobStore implements JobStore, JobQueries {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly barriers = new Map<string, Barrier>();
  /** Reference date → the job that claimed it (claimReferenceDate). */
  private readonly dateClaims = new Map<string, string>();

  async createJob(request: JobRequested, at: string): Promise<boolean> {
    if (this.jobs.has(request.jobId)) return false;
    this.jobs.set(request.jobId, {
      jobId: request.jobId,
      request,
      status: 'RECEIVED',
      history: [{ status: 'RECEIVED', at }],
      stages: {},
      facts: {},
      error: null,
    });
    return true;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(jobId);
    return job === undefined ? undefined : structuredClone(job);
  }

  async listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; total: number }> {
    const matching = [...this.jobs.values()]
      .filter(
        (j) =>
          (filter.dtFrom === undefined || j.request.referenceDate >= filter.dtFrom) &&
          (filter.dtTo === undefined || j.request.referenceDate <= filter.dtTo) &&
          (filter.status === undefined || j.status === filter.status),
      )
      .sort((a, b) => {
        const at = (j: JobRecord) => j.history[0]?.at ?? '';
        return at(b).localeCompare(at(a)) || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0);
      });
    return {
      jobs: matching.slice(filter.offset, filter.offset + filter.limit).map((j) => structuredClone(j)),
      total: matching.length,
    };
  }

  async setStatus(jobId: string, status: JobStatus, at: string): Promise<void> {
    const job = this.require(jobId);
    // A job that ended stays ended: a late handler must not revive a TIMEOUT or FAILED job.
    if (job.status === status || FINAL_STATUSES.includes(job.status)) return;
    job.status = status;
    job.history.push({ status, at });
  }

  async recordStageSpan(jobId: string, stage: string, startedAt: string, finishedAt: string): Promise<void> {
    const job = this.require(jobId);
    const span = job.stages[stage];
    if (span === undefined) job.stages[stage] = { startedAt, finishedAt };
    else {
      if (startedAt < span.startedAt) span.startedAt = startedAt;
      if (finishedAt > span.finishedAt) span.finishedAt = finishedAt;
    }
  }

  async mergeFacts(jobId: string, facts: Record<string, unknown>): Promise<void> {
    Object.assign(this.require(jobId).facts, facts);
  }

  async fail(jobId: string, status: EndedStatus, error: JobRecord['error'], at: string): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (job === undefined) return false;
    if (FINAL_STATUSES.includes(job.status)) return false;
    job.error = error;
    await this.setStatus(jobId, status, at);
    return true;
  }

  async reopen(
    jobId: string,
    status: JobStatus,
    at: string,
    resetBarriers: readonly string[],
  ): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.status === 'SUCCEEDED' || !FINAL_STATUSES.includes(job.status)) return false;
    job.status = status;
    job.error = null;
    job.history.push({ status, at });
    for (const name of resetBarriers) this.barriers.delete(`${jobId}\u0000${name}`);
    return true;
  }

  async claimReferenceDate(referenceDate: string, jobId: string): Promise<string | null> {
    const holder = this.dateClaims.get(referenceDate);
    if (holder !== undefined && holder !== jobId) {
      const job = this.jobs.get(holder);
      if (job !== undefined && !FINAL_STATUSES.includes(job.status)) return holder;
    }
    this.dateClaims.set(referenceDate, jobId);
    return null;
  }

  async findFileJob(sha256: string): Promise<{ jobId: string; status: JobStatus } | undefined> {
    const found = [...this.jobs.values()]
      .filter((j) => {
        const sha = j.request.fileSha256 ?? j.facts.file_sha256;
        return sha === sha256 && !['FAILED', 'TIMEOUT', 'CANCELLED'].includes(j.status);
      })
      .sort((a, b) => ((a.history[0]?.at ?? '') < (b.history[0]?.at ?? '') ? -1 : 1))[0];
    return found === undefined ? undefined : { jobId: found.jobId, status: found.status };
  }

  async setExpected(jobId: string, barrier: string, expected: number): Promise<boolean> {
    const b = this.barrier(jobId, barrier);
    b.expected = expected;
    return this.fire(b);
  }

  async completeUnit(jobId: string, barrier: string, unit: string, data: unknown): Promise<boolean> {
    const b = this.barrier(jobId, barrier);
    if (!b.units.has(unit)) b.units.set(unit, data);
    return this.fire(b);
  }

  async listUnits<T>(jobId: string, barrier: string): Promise<{ unit: string; data: T }[]> {
    const b = this.barrier(jobId, barrier);
    return [...b.units.entries()]
      .sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
      .map(([unit, data]) => ({ unit, data: data as T }));
  }

  private fire(b: Barrier): boolean {
    if (b.fired || b.expected === null || b.units.size < b.expected) return false;
    b.fired = true;
    return true;
  }

  private barrier(jobId: string, name: string): Barrier {
    const key = `${jobId}\u0000${name}`;
    let b = this.barriers.get(key);
    if (b === undefined) {
      b = { expected: null, units: new Map(), fired: false };
      this.barriers.set(key, b);
    }
    return b;
  }

  private require(jobId: string): JobRecord {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new Error(`unknown job ${jobId}`);
    return job;
  }
}
