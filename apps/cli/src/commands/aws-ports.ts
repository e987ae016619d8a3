import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import {
  type AwsConnection,
  createEventBridgeClient,
  createS3Client,
  createSqsClient,
  EventBridgePublisher,
  S3ObjectStore,
  SqsPublisher,
  toReconError,
} from '@recon/adapters';
import { type EventPublisher, type ObjectStore, QUEUES, type QueueName } from '@recon/contracts';
import type { Env } from '../config.ts';

/**
 * The distributed runtime's ports, for the commands that act on it from outside a service
 * (`check-delivery`, `reprocess --database-url`): where events go and the ingress bucket. Same
 * variables as the services (packages/runtime-distributed/src/config.ts).
 */
export interface AwsPorts {
  events: EventPublisher;
  /** The ingress bucket, when RECON_INGRESS_BUCKET is set. */
  ingress?: ObjectStore;
  close(): void;
}

export function awsConnection(env: Env): AwsConnection {
  return {
    region: env.AWS_REGION,
    ...(env.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: env.AWS_ENDPOINT_URL }),
  };
}

/** EventBridge when RECON_EVENT_BUS_NAME is set (AWS), else the routed SQS queues (`<prefix><service>`). */
export async function awsPorts(env: Env, producedBy: string): Promise<AwsPorts> {
  const connection = awsConnection(env);
  const closers: (() => void)[] = [];
  try {
    let events: EventPublisher;
    if (env.RECON_EVENT_BUS_NAME !== undefined) {
      const client = createEventBridgeClient(connection);
      closers.push(() => client.destroy());
      events = new EventBridgePublisher({ client, eventBusName: env.RECON_EVENT_BUS_NAME, producedBy });
    } else {
      const client = createSqsClient(connection);
      closers.push(() => client.destroy());
      const entries = await Promise.all(
        QUEUES.map(async (queue) => {
          const name = `${env.RECON_QUEUE_PREFIX}${queue}`;
          try {
            const out = await client.send(new GetQueueUrlCommand({ QueueName: name }));
            return [queue, out.QueueUrl!] as const;
          } catch (error) {
            throw toReconError(error, `looking up queue ${name} (RECON_QUEUE_PREFIX, AWS_ENDPOINT_URL)`);
          }
        }),
      );
      events = new SqsPublisher({
        client,
        queueUrls: Object.fromEntries(entries) as Record<QueueName, string>,
        producedBy,
      });
    }
    let ingress: ObjectStore | undefined;
    if (env.RECON_INGRESS_BUCKET !== undefined) {
      const s3 = createS3Client(connection);
      closers.push(() => s3.destroy());
      ingress = new S3ObjectStore({ client: s3, bucket: env.RECON_INGRESS_BUCKET });
    }
    return {
      events,
      ...(ingress === undefined ? {} : { ingress }),
      close: () => {
        for (const close of closers.splice(0)) close();
      },
    };
  } catch (error) {
    for (const close of closers) close();
    throw error;
  }
}
