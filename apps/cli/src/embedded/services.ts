import type { EventType, ServiceContext } from '@recon/contracts';
import { ingestHandlers } from '@recon/ingest';
import { matcherHandlers } from '@recon/matcher';
import { partitionHandlers } from '@recon/partition';
import { reporterHandlers } from '@recon/reporter';
import type { ServiceOptions } from './options.ts';

export { DEFAULT_SERVICE_OPTIONS, POOLED_QUEUES, type ServiceOptions } from './options.ts';

// biome-ignore lint/suspicious/noExplicitAny: each handler validates its own payload type
export type Handler = (ctx: ServiceContext, payload: any) => Promise<void>;
export type QueueHandlers = Partial<Record<EventType, Handler>>;

export function pooledHandlers(options: ServiceOptions): Record<string, QueueHandlers> {
  return {
    ingest: ingestHandlers,
    partition: partitionHandlers,
    matcher: matcherHandlers({
      severity: options.severity,
      ...(options.testMatcherDelayMs === undefined ? {} : { testDelayMs: options.testMatcherDelayMs }),
    }),
    reporter: reporterHandlers(options.reporter),
  };
}
