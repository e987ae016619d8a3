/**
 * The partition service as a standalone process: consumes the `partition` queue (chunk.written,
 * base.extract-requested, partition.side-completed). The internal base is read from PostgreSQL
 * with COPY … TO STDOUT.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the fields below.
 */
import { CommonEnvSchema, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { partitionHandlers } from './app.ts';

const PartitionEnvSchema = CommonEnvSchema.extend({
  /** PostgreSQL holding the internal base (RDS on AWS); default: DATABASE_URL. */
  RECON_BASE_DATABASE_URL: z.string().url().optional(),
});

const env = parseEnv(PartitionEnvSchema, process.env);

runMain(() =>
  startService({
    service: 'partition',
    env,
    defaultConcurrency: 2,
    handlers: partitionHandlers,
    baseDatabaseUrl: env.RECON_BASE_DATABASE_URL ?? env.DATABASE_URL,
  }),
);
