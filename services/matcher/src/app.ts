import type { ServiceContext, ShardReady } from '@recon/contracts';
import { handleShardReady, type MatcherOptions } from './handlers/shard-ready.ts';
import { DEFAULT_SEVERITY } from './severity.ts';

/** The matcher service: what it does with each event routed to its queue. */
export function matcherHandlers(options: MatcherOptions = { severity: DEFAULT_SEVERITY }) {
  return {
    'shard.ready': (ctx: ServiceContext, msg: ShardReady) => handleShardReady(ctx, msg, options),
  };
}
