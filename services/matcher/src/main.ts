/**
 * The matcher as a standalone process: consumes the `matcher` queue (shard.ready), one shard at a
 * time by default — scale out with processes (on AWS: Fargate tasks on queue depth).
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the fields below.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ServiceContext, ShardReady } from '@recon/contracts';
import { CommonEnvSchema, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { matcherHandlers } from './app.ts';

const MatcherEnvSchema = CommonEnvSchema.extend({
  /**
   * TEST ONLY: milliseconds each shard waits before it is matched, so a test can kill a matcher
   * in the middle of a shard. Never set in production.
   */
  RECON_TEST_MATCHER_DELAY_MS: z.coerce.number().int().min(0).default(0),
});

const env = parseEnv(MatcherEnvSchema, process.env);
const handlers = matcherHandlers();
const slow = env.RECON_TEST_MATCHER_DELAY_MS;

runMain(() =>
  startService({
    service: 'matcher',
    env,
    defaultConcurrency: 1,
    handlers:
      slow === 0
        ? handlers
        : {
            'shard.ready': async (ctx: ServiceContext, msg: ShardReady) => {
              ctx.log.info({ shard: msg.shard, delay_ms: slow }, 'TEST ONLY: shard delayed');
              await delay(slow);
              await handlers['shard.ready'](ctx, msg);
            },
          },
  }),
);
