import { createPostgresJobStore } from '@recon/adapters';
import { FINAL_JOB_STATUSES, ReconError, type ResumeMode, resumeJob } from '@recon/contracts';
import type { Env } from '../config.ts';
import { awsPorts } from './aws-ports.ts';

export interface DistributedReprocessOptions {
  jobId: string;
  /** The job store (PostgreSQL); default DATABASE_URL. */
  databaseUrl?: string;
  /** The reprocess's own deadline, from now (default 20 minutes). */
  deadlineMinutes?: number;
}

export interface DistributedReprocess {
  jobId: string;
  mode: ResumeMode;
  /** The status the job was in before (FAILED, TIMEOUT, CANCELLED). */
  from: string;
  deadlineAt: string;
}

/**
 * `recon reprocess JOB_ID --database-url URL` (no `--out`): resumes a job of the distributed
 * runtime from the job store's own state — the store is the truth there; the checkpoint in the
 * checkpoints bucket is its readable copy. The job is reopened (its barriers that must fire again
 * forgotten, its processed-message keys cleared), gets a whole deadline of its own
 * (`facts.deadline_at`, from now), and what starts the pending work is published to the services
 * (EventBridge, or the SQS queues): the report, the pending shards, or the whole job from its
 * request (see ResumeMode). Refused: a job that SUCCEEDED, one still running, or one whose
 * reference date another open job holds (JOB_RUNNING). Returns once published; the services do
 * the work.
 */
export async function reprocessDistributed(
  env: Env,
  o: DistributedReprocessOptions,
): Promise<DistributedReprocess> {
  const url = o.databaseUrl ?? env.DATABASE_URL;
  if (url === undefined) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      'recon reprocess needs --out DIR (a job of recon run) or --database-url URL / DATABASE_URL (the job store of the distributed runtime)',
    );
  }
  const db = await createPostgresJobStore(url, { maxConnections: 2 });
  try {
    const jobs = db.store;
    const job = await jobs.getJob(o.jobId);
    if (job === undefined) {
      throw new ReconError('INVALID_ARGUMENT', `no job ${o.jobId} in the job store at ${target(url)}`);
    }
    if (job.status === 'SUCCEEDED') {
      throw new ReconError('INVALID_ARGUMENT', `job ${o.jobId} already SUCCEEDED; nothing to reprocess`);
    }
    if (!FINAL_JOB_STATUSES.includes(job.status)) {
      throw new ReconError(
        'JOB_RUNNING',
        `job ${o.jobId} is still running (${job.status}); it can be reprocessed once it has ended (cancel it, or wait for its deadline)`,
      );
    }
    const now = new Date();
    const holder = await jobs.claimReferenceDate(job.request.referenceDate, o.jobId, now.toISOString());
    if (holder !== null) {
      throw new ReconError(
        'JOB_RUNNING',
        `job ${holder} is reconciling reference date ${job.request.referenceDate}; reprocess ${o.jobId} when it has ended`,
      );
    }
    const deadlineAt = new Date(now.getTime() + (o.deadlineMinutes ?? 20) * 60_000).toISOString();
    const ports = await awsPorts(env, 'reprocess');
    try {
      const mode = await resumeJob({ jobs, events: ports.events }, o.jobId, undefined, now.toISOString(), {
        deadline_at: deadlineAt,
        reprocessed_at: now.toISOString(),
      });
      return { jobId: o.jobId, mode, from: job.status, deadlineAt };
    } finally {
      ports.close();
    }
  } finally {
    await db.close();
  }
}

/** host:port/database of a URL, never its password. */
function target(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'the given URL';
  }
}
