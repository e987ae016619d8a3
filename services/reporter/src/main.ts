/**
 * The reporter as a standalone process: consumes the `reporter` queue (matching.completed,
 * job.failed) and writes the job's Parquet, rejects and summary to the store bucket.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the fields below.
 */

import { createTracing, EmfMetrics, recordJobMetrics } from '@recon/adapters/observability';
import { CommonEnvSchema, envFlag, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { reporterHandlers } from './app.ts';
import { createGlueQuickSightBiRefresh } from './bi-refresh.ts';
import { DEFAULT_REPORTER_OPTIONS } from './handlers/matching-completed.ts';
import { DEFAULT_HELD_RESULT_BYTES } from './options.ts';

const ReporterEnvSchema = CommonEnvSchema.extend({
  /** Rows per Parquet file; more rows give `<job_id>-part-N.parquet` files. */
  RECON_ROWS_PER_FILE: z.coerce.number().int().min(1).default(DEFAULT_REPORTER_OPTIONS.rowsPerFile),
  /**
   * Bytes of shard results a reporter keeps in memory while writing a report (default 64 MiB);
   * past it, each Parquet part reads the results again for its own rows.
   */
  RECON_HELD_RESULT_BYTES: z.coerce.number().int().min(0).default(DEFAULT_HELD_RESULT_BYTES),
  /** Keep the job's intermediate objects (work/<job>/) after success. */
  RECON_KEEP_WORK: envFlag,
  /** Glue catalog of the divergences table; with the QuickSight ids, turns the BI refresh on. */
  RECON_GLUE_DATABASE: z.string().min(1).optional(),
  RECON_GLUE_TABLE: z.string().min(1).default('divergencias'),
  RECON_QUICKSIGHT_ACCOUNT_ID: z.string().min(1).optional(),
  RECON_QUICKSIGHT_DATASET_ID: z.string().min(1).optional(),
  /** OpenTelemetry spans per stage of each reported job: `off` (default) or `console`. */
  RECON_TRACE_EXPORTER: z.enum(['off', 'console']).default('off'),
  /** Write each job's metrics as CloudWatch Embedded Metric Format lines on stdout (default on). */
  RECON_EMF_METRICS: envFlag.default(true),
  /**
   * Load each job's divergences and aggregates into the read model (the admin API's database,
   * docs/admin-api.md): `job-store` (default) uses DATABASE_URL, `off` skips, a URL names another.
   */
  RECON_READ_MODEL: z.union([z.enum(['job-store', 'off']), z.string().url()]).default('job-store'),
});

const env = parseEnv(ReporterEnvSchema, process.env);
const tracing = createTracing({ exporter: env.RECON_TRACE_EXPORTER });

runMain(() =>
  startService({
    service: 'reporter',
    env,
    defaultConcurrency: 1,
    ...(env.RECON_READ_MODEL === 'off'
      ? {}
      : { readModelUrl: env.RECON_READ_MODEL === 'job-store' ? env.DATABASE_URL : env.RECON_READ_MODEL }),
    handlers: reporterHandlers({
      ...DEFAULT_REPORTER_OPTIONS,
      rowsPerFile: env.RECON_ROWS_PER_FILE,
      heldResultBytes: env.RECON_HELD_RESULT_BYTES,
      keepWork: env.RECON_KEEP_WORK,
      ...(env.RECON_GLUE_DATABASE !== undefined &&
      env.RECON_QUICKSIGHT_ACCOUNT_ID !== undefined &&
      env.RECON_QUICKSIGHT_DATASET_ID !== undefined
        ? {
            biRefresh: createGlueQuickSightBiRefresh({
              region: env.AWS_REGION,
              target: {
                glue: { database: env.RECON_GLUE_DATABASE, table: env.RECON_GLUE_TABLE },
                quickSight: {
                  awsAccountId: env.RECON_QUICKSIGHT_ACCOUNT_ID,
                  dataSetId: env.RECON_QUICKSIGHT_DATASET_ID,
                },
              },
            }),
          }
        : {}),
      onReported: (summary, job) => {
        if (env.RECON_EMF_METRICS) recordJobMetrics(summary, [new EmfMetrics()]);
        tracing.traceJob(job);
      },
    }),
  }),
);
