import type { ObjectCreated, ServiceContext } from '@recon/contracts';
import { handleJobRequested } from './handlers/job-requested.ts';
import {
  DEFAULT_OBJECT_CREATED_OPTIONS,
  handleObjectCreated,
  type ObjectCreatedOptions,
} from './handlers/object-created.ts';

/** The ingest service with the options of jobs started by a file drop. */
export function createIngestHandlers(objectCreated: ObjectCreatedOptions = DEFAULT_OBJECT_CREATED_OPTIONS) {
  return {
    'object.created': (ctx: ServiceContext, msg: ObjectCreated) =>
      handleObjectCreated(ctx, msg, objectCreated),
    'job.requested': handleJobRequested,
  };
}

/** The ingest service: what it does with each event routed to its queue. */
export const ingestHandlers = createIngestHandlers();
