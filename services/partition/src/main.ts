/**
 * The partition service as a standalone process: consumes the `partition` queue (chunk.written,
 * base.extract-requested, partition.side-completed). The internal base is read from PostgreSQL
 * with COPY … TO STDOUT.
 *
 * Environment: CommonEnvSchema and BaseDatabaseEnvSchema (packages/runtime-distributed/src/config.ts).
 */
import {
  BaseDatabaseEnvSchema,
  baseDatabaseUrl,
  CommonEnvSchema,
  parseEnv,
  runMain,
  startService,
} from '@recon/runtime-distributed';
import { partitionHandlers } from './app.ts';

const PartitionEnvSchema = CommonEnvSchema.extend(BaseDatabaseEnvSchema.shape);

const env = parseEnv(PartitionEnvSchema, process.env);

runMain(() =>
  startService({
    service: 'partition',
    env,
    defaultConcurrency: 2,
    handlers: partitionHandlers,
    baseDatabaseUrl: baseDatabaseUrl(env),
  }),
);
