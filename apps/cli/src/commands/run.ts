import type { Scope } from '@recon/contracts';
import type { Env } from '../config.ts';
import { withDatabase } from '../database.ts';
import type { JobOutcome } from '../embedded/runtime.ts';
import { Progress } from '../progress.ts';
import { type BaseParam, reconcile } from '../reconcile.ts';

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
}

/** `recon run`: one job on the embedded runtime, the base from a CSV snapshot or PostgreSQL. */
export async function runJob(env: Env, o: RunOptions): Promise<JobOutcome> {
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
      workers: o.workers ?? env.RECON_WORKERS,
      maxInvalidRate: o.maxInvalidRate,
      keepWork: o.keepWork,
      logLevel: env.RECON_LOG_LEVEL,
      notifier: env.notifier,
      traceExporter: env.RECON_TRACE_EXPORTER,
      onTick: (t) => progress.job(t),
    });
  try {
    if (o.baseCsv !== undefined) return await go({ kind: 'csv', path: o.baseCsv });
    return await withDatabase(env, o.databaseUrl, (url) =>
      go({ kind: 'postgres', url, relation: o.relation }),
    );
  } finally {
    progress.done();
  }
}
