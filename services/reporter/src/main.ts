/**
 * The reporter as a standalone process: consumes the `reporter` queue (matching.completed,
 * job.failed) and writes the job's Parquet, rejects and summary to the store bucket.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the fields below.
 */
import { CommonEnvSchema, envFlag, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { reporterHandlers } from './app.ts';
import { DEFAULT_REPORTER_OPTIONS } from './handlers/matching-completed.ts';

const ReporterEnvSchema = CommonEnvSchema.extend({
  /** Rows per Parquet file; more rows give `<job_id>-part-N.parquet` files. */
  RECON_ROWS_PER_FILE: z.coerce.number().int().min(1).default(DEFAULT_REPORTER_OPTIONS.rowsPerFile),
  /** Keep the job's intermediate objects (work/<job>/) after success. */
  RECON_KEEP_WORK: envFlag,
});

const env = parseEnv(ReporterEnvSchema, process.env);

runMain(() =>
  startService({
    service: 'reporter',
    env,
    defaultConcurrency: 1,
    handlers: reporterHandlers({
      ...DEFAULT_REPORTER_OPTIONS,
      rowsPerFile: env.RECON_ROWS_PER_FILE,
      keepWork: env.RECON_KEEP_WORK,
    }),
  }),
);
