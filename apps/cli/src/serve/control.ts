import { resolve } from 'node:path';
import type { LocalFolderStore } from '@recon/adapters/embedded';
import type { JobControl, SubmitInput, SubmitResult } from '@recon/admin';
import { type JobStatus, type JobStore, ReconError, type Scope } from '@recon/contracts';
import { nextJobId, resolveReferenceDate } from '@recon/ingest';
import type { EmbeddedRuntime } from '../embedded/runtime.ts';
import {
  alreadyReconciled,
  type BaseParam,
  type ReconcileParams,
  reconcile,
  reprocess,
} from '../reconcile.ts';

export interface EmbeddedControlOptions {
  /** The output folder (object store root). */
  out: string;
  /** The ingress folder: uploads land below it, named keys are read from it. */
  ingressRoot: string;
  store: LocalFolderStore;
  jobs: JobStore;
  base: BaseParam;
  scope: Scope;
  readModelUrl: string;
  /** What every job takes from the environment (logs, notifier, retries…) and tests' knobs. */
  runSettings?: Partial<ReconcileParams>;
  /** Called when a background job ends, however it ends (tests wait on it). */
  onJobEnd?: (jobId: string, error: unknown) => void;
}

/**
 * Job control of `recon serve` on the embedded runtime: each job runs in this process, in the
 * background, on its own runtime with the server's PostgreSQL job store and read model.
 */
export class EmbeddedJobControl implements JobControl {
  /** Jobs running in this process, by reference date and by id. */
  private readonly byDate = new Map<string, string>();
  private readonly runtimes = new Map<string, EmbeddedRuntime>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly issued = new Set<string>();
  /** Submissions take turns: ids and the date check must not interleave. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: EmbeddedControlOptions) {}

  submit(input: SubmitInput): Promise<SubmitResult> {
    const next = this.turn.then(() => this.submitNow(input));
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async submitNow(input: SubmitInput): Promise<SubmitResult> {
    const file = resolve(this.o.ingressRoot, input.key);
    if (input.force !== true) {
      const earlier = await alreadyReconciled(file, this.o.out);
      if (earlier !== undefined) {
        return { jobId: earlier.summary.job_id, status: 'SUCCEEDED', alreadyReconciled: true };
      }
    }
    const now = new Date();
    const referenceDate = resolveReferenceDate(input.key, input.referenceDate, now);
    const holder = this.byDate.get(referenceDate);
    if (holder !== undefined) {
      throw new ReconError(
        'JOB_RUNNING',
        `job ${holder} is already reconciling reference date ${referenceDate}; one job per date at a time — retry when it has ended`,
      );
    }
    const jobId = await this.newJobId(now);
    this.byDate.set(referenceDate, jobId);
    await this.start(
      jobId,
      (onRuntime) =>
        reconcile({
          ...this.o.runSettings,
          file,
          out: this.o.out,
          base: this.o.base,
          scope: input.scope ?? this.o.scope,
          referenceDate,
          jobId,
          jobStore: this.o.jobs,
          readModelUrl: this.o.readModelUrl,
          onRuntime,
        }),
      () => this.byDate.delete(referenceDate),
    );
    return { jobId, status: 'RECEIVED', alreadyReconciled: false };
  }

  async reprocess(jobId: string): Promise<{ jobId: string; status: JobStatus }> {
    if (this.running.has(jobId))
      throw new ReconError('JOB_RUNNING', `job ${jobId} is running in this server`);
    const job = await this.o.jobs.getJob(jobId);
    const date = job?.request.referenceDate;
    if (date !== undefined) {
      const holder = this.byDate.get(date);
      if (holder !== undefined) {
        throw new ReconError(
          'JOB_RUNNING',
          `job ${holder} is reconciling reference date ${date}; retry when it has ended`,
        );
      }
      this.byDate.set(date, jobId);
    }
    const databaseUrl = this.o.base.kind === 'postgres' ? this.o.base.url : undefined;
    await this.start(
      jobId,
      (onRuntime) =>
        reprocess({
          ...this.o.runSettings,
          jobId,
          out: this.o.out,
          ...(databaseUrl === undefined ? {} : { databaseUrl }),
          jobStore: this.o.jobs,
          readModelUrl: this.o.readModelUrl,
          onRuntime,
        }),
      () => {
        if (date !== undefined) this.byDate.delete(date);
      },
    );
    return { jobId, status: 'RECEIVED' };
  }

  async cancel(jobId: string, by: string): Promise<boolean> {
    const runtime = this.runtimes.get(jobId);
    if (runtime === undefined) return false;
    return runtime.cancel(jobId, `cancelled through the admin API by key ${by}`);
  }

  /** Resolves when every background job has ended (server shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Starts a job in the background and resolves once it is accepted (its date lock taken, its
   * record in the job store), so that the caller's answer names a job that can be looked up. What
   * fails before that (another process reconciling the date, a missing file or checkpoint) rejects
   * here, for the API to answer with; what fails after is the job's own failure, which its runtime
   * records, except when the run ends with the job still open (its handlers stopped short of an
   * end): that job is recorded FAILED here, with the reason, so that nobody waits on it.
   */
  private async start(
    jobId: string,
    run: (onRuntime: (runtime: EmbeddedRuntime) => void) => Promise<unknown>,
    done: () => void,
  ): Promise<void> {
    let accepted = false;
    let onAccepted = () => {};
    const acceptance = new Promise<void>((resolve) => {
      onAccepted = resolve;
    });
    const work = run((runtime) => {
      this.runtimes.set(jobId, runtime);
      accepted = true;
      onAccepted();
    });
    const settled = work.then(
      () => this.o.onJobEnd?.(jobId, null),
      async (error: unknown) => {
        if (accepted) await this.failOpen(jobId, error);
        this.o.onJobEnd?.(jobId, error);
      },
    );
    const tracked = settled.finally(() => {
      done();
      this.runtimes.delete(jobId);
      this.running.delete(jobId);
    });
    this.running.set(jobId, tracked);
    await Promise.race([acceptance, work]);
  }

  /** Records a job that its run left open as FAILED (a job that ended is left as it is). */
  private async failOpen(jobId: string, error: unknown): Promise<void> {
    const code = error instanceof ReconError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    try {
      await this.o.jobs.fail(jobId, 'FAILED', { stage: 'runtime', code, message }, new Date().toISOString());
    } catch {
      // The job store itself is what failed: the job's record cannot be corrected.
    }
  }

  private async newJobId(now: Date): Promise<string> {
    let id = await nextJobId(this.o.store, now);
    while (this.issued.has(id) || (await this.o.jobs.getJob(id)) !== undefined) {
      const [prefix, n] = [id.slice(0, 13), Number(id.slice(13))];
      id = `${prefix}${String(n + 1).padStart(6, '0')}`;
    }
    this.issued.add(id);
    return id;
  }
}
