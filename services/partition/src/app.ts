import type { EventType, ServiceContext } from '@recon/contracts';
import { handleSideCompleted } from './fan-in.ts';
import { handleBaseExtractRequested } from './handlers/base-extract.ts';
import { handleChunkWritten } from './handlers/chunk-written.ts';

/** The partition service: what it does with each event routed to its queue. */
export const partitionHandlers = {
  'chunk.written': handleChunkWritten,
  'base.extract-requested': handleBaseExtractRequested,
  'partition.side-completed': handleSideCompleted,
} satisfies Partial<Record<EventType, (ctx: ServiceContext, payload: never) => Promise<void>>>;
