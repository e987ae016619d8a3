import type { ReconLogger } from '@recon/adapters';
import {
  deadlineMessage,
  type EventPublisher,
  FINAL_JOB_STATUSES,
  type JobRecord,
  type JobStore,
  type ObjectStore,
  stopJob,
} from '@recon/contracts';

/**
 * Job control in the distributed runtime (RULES §7): the deadline of a job and stopping it there.
 * The checkpoint and the stop itself are shared with the embedded runtime
 * (packages/contracts/src/checkpoint.ts).
 */

/**
 * A job's deadline (epoch ms): `facts.deadline_at` when a reprocess set one (a reprocess gets a
 * whole deadline of its own, from when it starts), else the file's arrival + `deadlineMs`.
 */
export function deadlineAt(job: JobRecord, deadlineMs: number): number {
  const set = job.facts.deadline_at;
  if (typeof set === 'string' && !Number.isNaN(Date.parse(set))) return Date.parse(set);
  return Date.parse(job.request.arrivedAt) + deadlineMs;
}

export function isOpen(job: JobRecord): boolean {
  return !FINAL_JOB_STATUSES.includes(job.status);
}

export interface DeadlinePorts {
  jobs: JobStore;
  store: ObjectStore;
  events: EventPublisher;
  now: () => Date;
  log: Pick<ReconLogger, 'info' | 'warn' | 'error'>;
  /** RECON_JOB_DEADLINE_MS: a job's time after its file arrived. */
  deadlineMs: number;
}

/**
 * Times the job out if it is open and past its deadline: TIMEOUT (once, whichever process gets
 * there first: `JobStore.fail` is true for one caller), the checkpoint to
 * `checkpoints/<job_id>/checkpoint.json`, `job.failed` (TIMEOUT, CRITICAL in the notifier).
 * Returns true when this call timed it out.
 */
export async function enforceDeadline(ports: DeadlinePorts, job: JobRecord): Promise<boolean> {
  if (!isOpen(job)) return false;
  const at = deadlineAt(job, ports.deadlineMs);
  if (Date.now() < at) return false;
  const allowedMs = at - Date.parse(job.request.arrivedAt);
  const stopped = await stopJob(ports, job.jobId, {
    status: 'TIMEOUT',
    code: 'DEADLINE_EXCEEDED',
    message: (current) => deadlineMessage(allowedMs, current.request.arrivedAt, current.status),
  });
  if (stopped) {
    ports.log.error(
      { job_id: job.jobId, stage: job.status.toLowerCase(), deadline: new Date(at).toISOString() },
      'job timed out: checkpoint written, job.failed published',
    );
  }
  return stopped;
}

/**
 * While a handler works for a job, a timer at the job's deadline times it out (the matcher, say,
 * in the middle of a long shard): the handler stops at its next check of the job's status.
 * Returns the function that clears the timer.
 */
export function watchDeadline(ports: DeadlinePorts, job: JobRecord): () => void {
  if (!isOpen(job)) return () => {};
  const wait = Math.max(0, deadlineAt(job, ports.deadlineMs) - Date.now());
  // setTimeout's limit (~24.8 days) is far above any deadline; clamp anyway.
  const timer = setTimeout(
    () => {
      void (async () => {
        const current = await ports.jobs.getJob(job.jobId);
        if (current !== undefined) await enforceDeadline(ports, current);
      })().catch((error: unknown) =>
        ports.log.warn(
          { job_id: job.jobId, err: String(error) },
          'deadline check failed; the sweeper retries',
        ),
      );
    },
    Math.min(wait, 2 ** 31 - 1),
  );
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * A job with no message in flight (every message lost to a DLQ, a service down) must still time
 * out: every `intervalMs` the sweeper looks at the open jobs and times out those past their
 * deadline. It runs in the ingest service (always up: it starts every job); running it in more
 * processes is safe (a job times out once).
 */
export class DeadlineSweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly ports: DeadlinePorts & { openJobIds(): Promise<string[]> },
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer !== null || this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.ports.log.warn({ err: String(error) }, 'deadline sweep failed'))
        .finally(() => {
          this.sweeping = null;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** One pass: returns the jobs it timed out. */
  async sweep(): Promise<string[]> {
    const timedOut: string[] = [];
    for (const id of await this.ports.openJobIds()) {
      const job = await this.ports.jobs.getJob(id);
      if (job !== undefined && (await enforceDeadline(this.ports, job))) timedOut.push(id);
    }
    return timedOut;
  }
}
