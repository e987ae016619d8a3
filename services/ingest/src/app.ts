import { handleJobRequested } from './handlers/job-requested.ts';

/** The ingest service: what it does with each event routed to its queue. */
export const ingestHandlers = {
  'job.requested': handleJobRequested,
};
