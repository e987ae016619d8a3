import { type EventType, QUEUES, type QueueName, ROUTES } from '@recon/contracts';
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ReconConfig, WORKER_SETTINGS } from '../config.ts';

/** `Source` of every recon event (EventBridgePublisher in packages/adapters sends this). */
export const EVENT_SOURCE = 'recon';

/**
 * Route-table events that AWS emits rather than recon, and the AWS event pattern that stands for
 * each: S3 sends "Object Created" for the ingress bucket to the default bus (EventBridge
 * notifications on). Only `.csv` keys, in any case: vendor files are `YYYY-MM-DD/<file>.csv`.
 */
export function externalEvents(ingressBucket: s3.IBucket): Partial<Record<EventType, events.EventPattern>> {
  return {
    'object.created': {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [ingressBucket.bucketName] },
        // In any case, as ingest takes them (`isVendorFileKey`): a `.CSV` would start no job.
        object: { key: events.Match.suffixEqualsIgnoreCase('.csv') },
      },
    },
  };
}

/** Physical name of the rule routing `type`; EventBridge names allow [.\-_A-Za-z0-9]. */
export function routeRuleName(prefix: string, type: EventType): string {
  return `${prefix}-route-${type.replace(/[^\w-]/g, '-')}`;
}

export interface QueuePair {
  queue: sqs.Queue;
  dlq: sqs.Queue;
}

/**
 * SQS and EventBridge: one queue (+ DLQ) per consuming service, the recon event bus, and one rule
 * per entry of the route table in packages/contracts (`object.created`: the ingress bucket's S3 event).
 */
export class Messaging extends Construct {
  readonly key: kms.Key;
  readonly queues: Record<QueueName, QueuePair>;
  readonly bus: events.EventBus;
  /** Events EventBridge could not deliver to a queue (after its own retries). */
  readonly deliveryDlq: sqs.Queue;
  /** The rule of each routed event type (types routed to no queue get none). */
  readonly routeRules: Partial<Record<EventType, events.Rule>>;

  constructor(scope: Construct, id: string, props: { config: ReconConfig; ingressBucket: s3.IBucket }) {
    super(scope, id);
    const { config } = props;
    const prefix = config.prefix;

    this.key = new kms.Key(this, 'MessagingKey', {
      alias: `alias/${prefix}-messaging`,
      description: 'recon: SQS queues and the alarm topic',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(90),
    });
    // EventBridge writes to the queues and CloudWatch publishes alarms to the SNS topic: both need
    // the key. Scoped to this account's resources.
    for (const service of ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'], // in a key policy, '*' means this key
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }

    const encrypted = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
    };

    this.queues = Object.fromEntries(
      QUEUES.map((name) => {
        const settings = WORKER_SETTINGS[name];
        const dlq = new sqs.Queue(this, `${name}-dlq`, {
          queueName: `${prefix}-${name}-dlq`,
          retentionPeriod: Duration.days(14),
          ...encrypted,
        });
        const queue = new sqs.Queue(this, name, {
          queueName: `${prefix}-${name}`,
          visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
          retentionPeriod: Duration.days(4),
          receiveMessageWaitTime: Duration.seconds(20),
          deadLetterQueue: { queue: dlq, maxReceiveCount: settings.maxReceiveCount },
          ...encrypted,
        });
        return [name, { queue, dlq }];
      }),
    ) as Record<QueueName, QueuePair>;

    this.deliveryDlq = new sqs.Queue(this, 'delivery-dlq', {
      queueName: `${prefix}-eventbridge-delivery-dlq`,
      retentionPeriod: Duration.days(14),
      ...encrypted,
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: prefix });

    const targetOptions = {
      deadLetterQueue: this.deliveryDlq,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    };

    // The route table becomes rules here, and only here: one rule per entry, one target per routed
    // queue. Recon's own events match on source + detail-type and the target sends `$.detail` — the
    // envelope — so a queue body is exactly what SqsPublisher sends locally. Events that AWS emits
    // (EXTERNAL_EVENTS) match the AWS event instead and are delivered whole; the consumer's decoder
    // turns them into envelopes (packages/adapters aws/envelope.ts).
    const external = externalEvents(props.ingressBucket);
    const routes = Object.entries(ROUTES) as [EventType, readonly QueueName[]][];
    this.routeRules = Object.fromEntries(
      routes
        .filter(([, queues]) => queues.length > 0)
        .map(([type, queues]) => {
          const fromAws = external[type];
          const rule = new events.Rule(this, `Route:${type}`, {
            ruleName: routeRuleName(prefix, type),
            description: `recon route table: ${type} -> ${queues.join(', ')}`,
            ...(fromAws
              ? { eventPattern: fromAws }
              : { eventBus: this.bus, eventPattern: { source: [EVENT_SOURCE], detailType: [type] } }),
          });
          for (const queueName of queues) {
            rule.addTarget(
              new targets.SqsQueue(this.queues[queueName].queue, {
                ...(fromAws ? {} : { message: events.RuleTargetInput.fromEventPath('$.detail') }),
                ...targetOptions,
              }),
            );
          }
          return [type, rule];
        }),
    );
  }

  /** Every dead-letter queue: the per-service DLQs and EventBridge's delivery DLQ. */
  get deadLetterQueues(): { name: string; queue: sqs.Queue }[] {
    return [
      ...QUEUES.map((name) => ({ name: `${name}-dlq`, queue: this.queues[name].dlq })),
      { name: 'eventbridge-delivery-dlq', queue: this.deliveryDlq },
    ];
  }
}
