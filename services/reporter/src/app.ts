import type { JobFailed, MatchingCompleted, ReportPartRequested, ServiceContext } from '@recon/contracts';
import { handleJobFailed } from './handlers/job-failed.ts';
import {
  DEFAULT_REPORTER_OPTIONS,
  handleMatchingCompleted,
  handleReportPartRequested,
  type ReporterOptions,
} from './handlers/matching-completed.ts';

/** The reporter service: what it does with each event routed to its queue. */
export function reporterHandlers(options: ReporterOptions = DEFAULT_REPORTER_OPTIONS) {
  return {
    'matching.completed': (ctx: ServiceContext, msg: MatchingCompleted) =>
      handleMatchingCompleted(ctx, msg, options),
    'report.part-requested': (ctx: ServiceContext, msg: ReportPartRequested) =>
      handleReportPartRequested(ctx, msg, options),
    'job.failed': (ctx: ServiceContext, msg: JobFailed) => handleJobFailed(ctx, msg),
  };
}
