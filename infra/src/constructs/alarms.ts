import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ReconConfig } from '../config.ts';

/** CloudWatch namespace of the technical document §10.2 (packages/adapters observability/metrics.ts). */
export const METRIC_NAMESPACE = 'Reconciliation';

/** The thresholds of the technical document §10.2. */
export const THRESHOLDS = {
  /** ProcessingTime > 18 minutes (the 20-minute deadline is near). */
  processingTimeSeconds: 18 * 60,
  /** ErrorRate > 5% (invalid lines). */
  errorRatePercent: 5,
  /** Divergences > 10% of the orders. */
  divergenceRatePercent: 10,
} as const;

/**
 * The services publish one data point per job, with `job_id` among the dimensions (EMF). An alarm on
 * a plain metric must name every dimension value, so these alarms use Metrics Insights queries,
 * which aggregate across jobs: the worst job of the period is compared with the threshold.
 */
const insights = (query: string, label: string) =>
  new cloudwatch.MathExpression({ expression: query, label, period: Duration.minutes(5) });

/** Alarms of §10.2, DLQs and job failures, all to one SNS topic. */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: {
      config: ReconConfig;
      key: kms.IKey;
      deadLetterQueues: { name: string; queue: sqs.IQueue }[];
      /** Name of the route rule of `job.failed`. */
      jobFailedRuleName: string;
    },
  ) {
    super(scope, id);
    const { config } = props;
    const prefix = config.prefix;

    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${prefix}-alarms`,
      displayName: 'recon alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (config.notifications.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(config.notifications.alarmEmail));
    }
    const action = new actions.SnsAction(this.topic);
    const add = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };

    add(
      new cloudwatch.Alarm(this, 'ProcessingTime', {
        alarmName: `${prefix}-processing-time`,
        alarmDescription: 'HIGH: a job took more than 18 minutes (deadline 20) — runbook: timeout',
        metric: insights(
          `SELECT MAX(ProcessingTime) FROM SCHEMA("${METRIC_NAMESPACE}", job_id, stage) WHERE stage = 'total'`,
          'ProcessingTime (s), total stage, worst job',
        ),
        threshold: THRESHOLDS.processingTimeSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      new cloudwatch.Alarm(this, 'ErrorRate', {
        alarmName: `${prefix}-error-rate`,
        alarmDescription: 'CRITICAL: more than 5% of the vendor file lines are invalid',
        metric: insights(
          `SELECT MAX(ErrorRate) FROM SCHEMA("${METRIC_NAMESPACE}", error_type, job_id) WHERE error_type = 'invalid_lines'`,
          'ErrorRate (%), invalid lines, worst job',
        ),
        threshold: THRESHOLDS.errorRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      new cloudwatch.Alarm(this, 'DivergenceRate', {
        alarmName: `${prefix}-divergence-rate`,
        alarmDescription: 'MEDIUM: more than 10% of the orders diverge',
        metric: insights(
          `SELECT MAX(DivergenceRate) FROM SCHEMA("${METRIC_NAMESPACE}", job_id)`,
          'DivergenceRate (%), worst job',
        ),
        threshold: THRESHOLDS.divergenceRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    for (const { name, queue } of props.deadLetterQueues) {
      add(
        new cloudwatch.Alarm(this, `Dlq:${name}`, {
          alarmName: `${prefix}-${name}-not-empty`,
          alarmDescription: `Messages in ${name}: a message failed every attempt (or EventBridge could not deliver). Inspect and redrive.`,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(5),
            statistic: 'Maximum',
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    // Every failed or timed-out job publishes `job.failed`; its route rule counts them.
    add(
      new cloudwatch.Alarm(this, 'JobFailures', {
        alarmName: `${prefix}-job-failures`,
        alarmDescription: 'A job ended FAILED or TIMEOUT (job.failed event) — see the notifier message',
        // FROM the namespace (not SCHEMA): matches the rule whichever dimension set EventBridge uses.
        metric: insights(
          `SELECT SUM(MatchedEvents) FROM "AWS/Events" WHERE RuleName = '${props.jobFailedRuleName}'`,
          'job.failed events',
        ),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
