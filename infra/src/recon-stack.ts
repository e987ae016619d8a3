import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { ReconConfig } from './config.ts';
import { Alarms } from './constructs/alarms.ts';
import { Analytics } from './constructs/analytics.ts';
import { BASE_DATABASE, ExistingDatabase } from './constructs/database.ts';
import { Messaging, routeRuleName } from './constructs/messaging.ts';
import { Services } from './constructs/services.ts';
import { Storage } from './constructs/storage.ts';
import { addNagSuppressions } from './nag.ts';

export interface ReconStackProps extends StackProps {
  config: ReconConfig;
}

/**
 * The whole recon system in one stack. One stack, not several: the queues' key, the buckets and the
 * task roles reference each other both ways (key policies, grants, rule targets), which across
 * stacks means export/import cycles for no benefit — the system is deployed and rolled back as a unit.
 * The existing VPC and RDS instances are imported, never created.
 */
export class ReconStack extends Stack {
  readonly config: ReconConfig;
  readonly vpc: ec2.IVpc;
  readonly storage: Storage;
  readonly messaging: Messaging;
  readonly database: ExistingDatabase;
  /** The internal base's own RDS (`baseDatabase: 'separate'`); else it is `database`. */
  readonly baseDatabase: ExistingDatabase | undefined;
  readonly analytics: Analytics;
  readonly services: Services;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: ReconStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { network } = config;

    // Described by ids, not looked up: synth stays offline and deterministic.
    this.config = config;
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: network.vpcId,
      vpcCidrBlock: network.vpcCidr,
      availabilityZones: network.availabilityZones,
      privateSubnetIds: network.privateSubnetIds,
    });
    this.vpc = vpc;

    this.storage = new Storage(this, 'Storage', config);
    this.messaging = new Messaging(this, 'Messaging', {
      config,
      ingressBucket: this.storage.buckets.ingress,
    });
    this.database = new ExistingDatabase(this, 'Database');
    this.baseDatabase =
      config.baseDatabase === 'separate'
        ? new ExistingDatabase(this, 'BaseDatabase', BASE_DATABASE)
        : undefined;
    this.analytics = new Analytics(this, 'Analytics', { config, storage: this.storage });
    this.services = new Services(this, 'Services', {
      config,
      vpc,
      storage: this.storage,
      messaging: this.messaging,
      database: this.database,
      ...(this.baseDatabase === undefined ? {} : { baseDatabase: this.baseDatabase }),
      analytics: this.analytics,
    });
    this.alarms = new Alarms(this, 'Alarms', {
      config,
      key: this.messaging.key,
      deadLetterQueues: this.messaging.deadLetterQueues,
      jobFailedRuleName: routeRuleName(config.prefix, 'job.failed'),
    });

    for (const [name, bucket] of Object.entries(this.storage.buckets)) {
      new CfnOutput(this, `${name}-bucket`, { value: bucket.bucketName, description: `${name} bucket` });
    }
    new CfnOutput(this, 'EventBusName', { value: this.messaging.bus.eventBusName });
    new CfnOutput(this, 'AdminApiUrl', {
      value: `${config.admin.certificateArn ? 'https' : 'http'}://${this.services.admin.loadBalancer.loadBalancerDnsName}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'AdminBootstrapKeySecret', {
      value: this.services.adminBootstrapKey.secretArn,
      description:
        "The admin API's first admin key, once the API has started: aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text",
    });

    addNagSuppressions(this);
  }
}
