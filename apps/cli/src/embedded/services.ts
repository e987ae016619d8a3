import type { EventType, QueueName, ServiceContext } from '@recon/contracts';
import { ingestHandlers } from '@recon/ingest';
import { DEFAULT_SEVERITY, matcherHandlers, type SeverityPolicy } from '@recon/matcher';
import { partitionHandlers } from '@recon/partition';
import { DEFAULT_REPORTER_OPTIONS, type ReporterOptions, reporterHandlers } from '@recon/reporter';

// biome-ignore lint/suspicious/noExplicitAny: each handler validates its own payload type
export type Handler = (ctx: ServiceContext, payload: any) => Promise<void>;
export type QueueHandlers = Partial<Record<EventType, Handler>>;

/** Options of the services, the same in the main thread and in every worker. */
export interface ServiceOptions {
  severity: SeverityPolicy;
  reporter: ReporterOptions;
}

export const DEFAULT_SERVICE_OPTIONS: ServiceOptions = {
  severity: DEFAULT_SEVERITY,
  reporter: DEFAULT_REPORTER_OPTIONS,
};

/** The queues whose work runs on the worker pool (CPU-bound); the notifier stays in the main thread. */
export const POOLED_QUEUES: readonly QueueName[] = ['ingest', 'partition', 'matcher', 'reporter'];

export function pooledHandlers(options: ServiceOptions): Record<string, QueueHandlers> {
  return {
    ingest: ingestHandlers,
    partition: partitionHandlers,
    matcher: matcherHandlers({ severity: options.severity }),
    reporter: reporterHandlers(options.reporter),
  };
}
