/**
 * The matcher as a standalone process: consumes the `matcher` queue (shard.ready), one shard at a
 * time by default — scale out with processes (on AWS: Fargate tasks on queue depth).
 *
 * Environment: CommonEnvSchema and BaseDatabaseEnvSchema (packages/runtime-distributed/src/config.ts)
 * plus the fields below.
 */
import {
  BaseDatabaseEnvSchema,
  baseDatabaseUrl,
  CommonEnvSchema,
  parseEnv,
  runMain,
  startService,
} from '@recon/runtime-distributed';
import { z } from 'zod';
import { matcherHandlers } from './app.ts';
import { DEFAULT_SEVERITY } from './severity.ts';

const MatcherEnvSchema = CommonEnvSchema.extend({
  // The internal base: a shard whose base slices hold only the date window looks the orders it
  // missed up there by id.
  ...BaseDatabaseEnvSchema.shape,
  /**
   * TEST ONLY: milliseconds each shard waits before it is matched, so a test can kill a matcher
   * in the middle of a shard. Never set in production.
   */
  RECON_TEST_MATCHER_DELAY_MS: z.coerce.number().int().min(0).default(0),
});

const env = parseEnv(MatcherEnvSchema, process.env);
const slow = env.RECON_TEST_MATCHER_DELAY_MS;
// The delay is taken inside the handler, after its job checks: a completed shard of a
// reprocessed job is skipped at once, a job that ended gets no delayed work.
const handlers = matcherHandlers({
  severity: DEFAULT_SEVERITY,
  ...(slow === 0 ? {} : { testDelayMs: slow }),
});

runMain(() =>
  startService({
    service: 'matcher',
    env,
    defaultConcurrency: 1,
    handlers,
    baseDatabaseUrl: baseDatabaseUrl(env),
  }),
);
