import type { Checkpoint, Scope } from '@recon/contracts';
import { type Env, runtimeSettings } from '../config.ts';
import { withDatabase } from '../database.ts';
import type { JobOutcome } from '../embedded/runtime.ts';
import { Progress } from '../progress.ts';
import {
  alreadyReconciled,
  type BaseParam,
  loadCheckpoint,
  type RunResult,
  reconcile,
  reprocess,
} from '../reconcile.ts';

export interface RunOptions {
  file: string;
  out: string;
  baseCsv?: string;
  databaseUrl?: string;
  relation: string;
  scope: Scope;
  referenceDate?: string;
  jobId?: string;
  shards?: number;
  workers?: number;
  maxInvalidRate?: number;
  keepWork: boolean;
  quiet: boolean;
  /** Reconcile even when a SUCCEEDED job already reconciled this file (force_reprocess). */
  force: boolean;
  deadlineMinutes?: number;
}

/**
 * `recon run`: one job on the embedded runtime, the base from a CSV snapshot or PostgreSQL. A file
 * already reconciled successfully in `out` (same SHA-256) is not reconciled again unless `force`;
 * the check comes first, before any database is started.
 */
export async function runJob(env: Env, o: RunOptions): Promise<RunResult> {
  if (!o.force) {
    const earlier = await alreadyReconciled(o.file, o.out);
    if (earlier !== undefined) return earlier;
  }
  const progress = new Progress('reconciling', o.quiet);
  const go = (base: BaseParam) =>
    reconcile({
      file: o.file,
      out: o.out,
      base,
      scope: o.scope,
      referenceDate: o.referenceDate,
      jobId: o.jobId,
      shards: o.shards,
      maxInvalidRate: o.maxInvalidRate,
      keepWork: o.keepWork,
      ...runtimeSettings(env),
      // After the environment's RECON_WORKERS: the flag wins.
      ...(o.workers === undefined ? {} : { workers: o.workers }),
      onTick: (t) => progress.job(t),
      ...(o.deadlineMinutes === undefined ? {} : { deadlineMs: o.deadlineMinutes * 60_000 }),
    });
  try {
    if (o.baseCsv !== undefined)
      return { kind: 'reconciled', outcome: await go({ kind: 'csv', path: o.baseCsv }) };
    const outcome = await withDatabase(env, o.databaseUrl, (url) =>
      go({ kind: 'postgres', url, relation: o.relation }),
    );
    return { kind: 'reconciled', outcome };
  } finally {
    progress.done();
  }
}

export interface ReprocessOptions {
  jobId: string;
  out: string;
  databaseUrl?: string;
  workers?: number;
  keepWork: boolean;
  quiet: boolean;
  deadlineMinutes?: number;
}

/**
 * `recon reprocess JOB_ID`: resumes a stopped job from its checkpoint. A job whose base is a
 * database relation gets the database as `recon run` does: the option, DATABASE_URL, else the
 * embedded PostgreSQL (its pending base reads and lookups need it).
 */
export async function reprocessJob(env: Env, o: ReprocessOptions): Promise<JobOutcome> {
  const progress = new Progress('reprocessing', o.quiet);
  const go = (checkpoint: Checkpoint, databaseUrl: string | undefined) =>
    reprocess({
      jobId: o.jobId,
      checkpoint,
      out: o.out,
      keepWork: o.keepWork,
      ...runtimeSettings(env),
      // After the environment's RECON_WORKERS: the flag wins.
      ...(o.workers === undefined ? {} : { workers: o.workers }),
      onTick: (t) => progress.job(t),
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
      ...(o.deadlineMinutes === undefined ? {} : { deadlineMs: o.deadlineMinutes * 60_000 }),
    });
  try {
    const checkpoint = await loadCheckpoint(o.out, o.jobId);
    if (checkpoint.intermediate_data.request.base.kind !== 'postgres')
      return await go(checkpoint, o.databaseUrl ?? env.DATABASE_URL);
    return await withDatabase(env, o.databaseUrl, (url) => go(checkpoint, url));
  } finally {
    progress.done();
  }
}
