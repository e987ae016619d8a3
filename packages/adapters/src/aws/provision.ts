import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QUEUES, type QueueName } from '@recon/contracts';
import { awsErrorName, toReconError } from './errors.ts';

/**
 * Creates the queues and the bucket the distributed runtime needs, idempotently: for tests and the
 * local stack (fauxqs). On AWS the CDK app owns these resources; the same names and settings are
 * meant to be mirrored there.
 */

export interface QueueSettings {
  /** Default visibility timeout of the queue (consumers also pass their own on receive); default 30. */
  visibilityTimeoutSeconds?: number;
  /** Receives before SQS moves a message to the DLQ; default 5. */
  maxReceiveCount?: number;
  /** How long messages are kept, in seconds; default 4 days (DLQ: 14 days). */
  messageRetentionSeconds?: number;
}

export interface QueueWithDlq {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

const DAY = 24 * 60 * 60;

/** Creates `name` and `name-dlq`, with a RedrivePolicy on the first pointing at the second. */
export async function ensureQueueWithDlq(
  client: SQSClient,
  name: string,
  settings: QueueSettings = {},
): Promise<QueueWithDlq> {
  const dlq = await ensureQueue(client, `${name}-dlq`, { MessageRetentionPeriod: String(14 * DAY) });
  const queue = await ensureQueue(client, name, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds ?? 30),
    MessageRetentionPeriod: String(settings.messageRetentionSeconds ?? 4 * DAY),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: settings.maxReceiveCount ?? 5,
    }),
  });
  return { queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
}

/**
 * One queue (with its DLQ) per consuming service of the route table, named `${prefix}${queue}`.
 * `settings` may differ per queue (the matcher's handlers run longest, for instance).
 */
export async function ensureReconQueues(
  client: SQSClient,
  options: {
    prefix?: string;
    settings?: QueueSettings;
    perQueue?: Partial<Record<QueueName, QueueSettings>>;
  } = {},
): Promise<Record<QueueName, QueueWithDlq>> {
  const entries = await Promise.all(
    QUEUES.map(
      async (queue) =>
        [
          queue,
          await ensureQueueWithDlq(client, `${options.prefix ?? 'recon-'}${queue}`, {
            ...options.settings,
            ...options.perQueue?.[queue],
          }),
        ] as const,
    ),
  );
  return Object.fromEntries(entries) as Record<QueueName, QueueWithDlq>;
}

/** The queue URL map SqsPublisher takes. */
export function queueUrlsOf(queues: Record<QueueName, QueueWithDlq>): Record<QueueName, string> {
  return Object.fromEntries(QUEUES.map((q) => [q, queues[q].queueUrl])) as Record<QueueName, string>;
}

async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  let url: string;
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    url = created.QueueUrl!;
  } catch (error) {
    const code = awsErrorName(error);
    if (code !== 'QueueNameExists' && code !== 'AWS.SimpleQueueService.QueueNameExists') {
      throw toReconError(error, `creating queue ${name}`);
    }
    // It exists with other settings: bring them in line.
    try {
      url = (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
      await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    } catch (inner) {
      throw toReconError(inner, `updating queue ${name}`);
    }
  }
  try {
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: attrs.Attributes!.QueueArn! };
  } catch (error) {
    throw toReconError(error, `reading the ARN of queue ${name}`);
  }
}

/** Creates the bucket unless it exists (outside us-east-1 with the client's region as location). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const code = awsErrorName(error);
    if (code !== 'NotFound' && code !== 'NoSuchBucket')
      throw toReconError(error, `checking bucket ${bucket}`);
  }
  const region = await client.config.region();
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      }),
    );
  } catch (error) {
    const code = awsErrorName(error);
    if (code === 'BucketAlreadyOwnedByYou') return;
    throw toReconError(error, `creating bucket ${bucket}`);
  }
}
