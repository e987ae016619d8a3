import type { QueueName } from '@recon/contracts';
import { DEFAULT_SEVERITY, type SeverityPolicy } from '@recon/matcher/severity';
import { DEFAULT_REPORTER_OPTIONS, type ReporterOptions } from '@recon/reporter/options';

/**
 * Options of the services, the same in the main thread and in every worker. Kept apart from the
 * handlers so the main thread, which runs none of them, does not load them (Parquet, Arrow…).
 */
export interface ServiceOptions {
  severity: SeverityPolicy;
  reporter: ReporterOptions;
  /** TEST ONLY: milliseconds each shard waits before it is matched (see MatcherOptions.testDelayMs). */
  testMatcherDelayMs?: number;
}

export const DEFAULT_SERVICE_OPTIONS: ServiceOptions = {
  severity: DEFAULT_SEVERITY,
  reporter: DEFAULT_REPORTER_OPTIONS,
};

/** The queues whose work runs on the worker pool (CPU-bound); the notifier stays in the main thread. */
export const POOLED_QUEUES: readonly QueueName[] = ['ingest', 'partition', 'matcher', 'reporter'];
