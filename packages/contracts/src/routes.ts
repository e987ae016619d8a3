import type { EventType } from './events.ts';

/** The queues of the system: one per consuming service. */
export const QUEUES = ['ingest', 'partition', 'matcher', 'reporter', 'notifier'] as const;
export type QueueName = (typeof QUEUES)[number];

/**
 * The route table: which queues receive which event. Defined once here; the embedded runtime and
 * the local distributed runtime route with it directly, the CDK app turns it into EventBridge rules.
 */
export const ROUTES: Readonly<Record<EventType, readonly QueueName[]>> = {
  // Locally `recon stack drop` sends it to the ingest queue; on AWS an EventBridge rule on the
  // ingress bucket's S3 events does (not derived from this table: the event is not recon's).
  'object.created': ['ingest'],
  'job.requested': ['ingest'],
  'chunk.written': ['partition'],
  'base.extract-requested': ['partition'],
  'partition.side-completed': ['partition'],
  'shard.ready': ['matcher'],
  'matching.completed': ['reporter'],
  'report.part-requested': ['reporter'],
  'job.succeeded': ['notifier'],
  'job.failed': ['reporter', 'notifier'],
  'alert.raised': ['notifier'],
  'delivery.missing': ['notifier'],
};

export function queuesFor(type: EventType): readonly QueueName[] {
  return ROUTES[type];
}
