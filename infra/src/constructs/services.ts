import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type ReconConfig, WORKER_SETTINGS, WORKERS, type WorkerName } from '../config.ts';
import type { Analytics } from './analytics.ts';
import type { ExistingDatabase } from './database.ts';
import type { Messaging } from './messaging.ts';
import { type DataBucket, PREFIXES, type S3Grant, type Storage } from './storage.ts';

/** Every Fargate workload: the five queue consumers, the admin API, the scheduled delivery check. */
export type Workload = WorkerName | 'admin-api' | 'delivery-check';

/** The image each workload runs (infra/docker/Dockerfile, build arg SERVICE). */
const IMAGE_OF: Record<Workload, string> = {
  ingest: 'ingest',
  partition: 'partition',
  matcher: 'matcher',
  reporter: 'reporter',
  notifier: 'notifier',
  // `recon serve` and `recon check-delivery` live in apps/cli.
  'admin-api': 'admin-api',
  'delivery-check': 'admin-api',
};

const { work, jobs, divergences, checkpoints } = PREFIXES;
const everything = '';

/**
 * What each workload may touch in S3: read the code of each handler for the keys (packages/contracts
 * units.ts `keys`). Nothing else is granted; a new access is a deliberate edit here.
 */
export const S3_ACCESS: Record<Workload, readonly S3Grant[]> = {
  // Reads the vendor file, writes chunks, writes the checkpoint when the deadline passes during
  // its stage (a checkpoint is only read by a reprocess, through the admin API or the CLI; the
  // same-file idempotency asks the job store).
  ingest: [
    // Listing lets S3 answer a missing file with 404 (403 otherwise: "check the credentials").
    { bucket: 'ingress', prefixes: [everything], access: ['read', 'list'] },
    { bucket: work.bucket, prefixes: [work.prefix], access: ['write'] },
    { bucket: checkpoints.bucket, prefixes: [checkpoints.prefix], access: ['write'] },
  ],
  // Reads chunks and CSV base snapshots, writes parts and rejects.
  partition: [
    { bucket: 'ingress', prefixes: [everything], access: ['read', 'list'] },
    { bucket: work.bucket, prefixes: [work.prefix], access: ['read', 'write'] },
    { bucket: checkpoints.bucket, prefixes: [checkpoints.prefix], access: ['write'] },
  ],
  // Reads its shard's byte ranges, writes the shard result.
  matcher: [
    { bucket: work.bucket, prefixes: [work.prefix], access: ['read', 'write'] },
    { bucket: checkpoints.bucket, prefixes: [checkpoints.prefix], access: ['write'] },
  ],
  // Merges shard results, writes the Parquet/summary/rejects, deletes the job's work/ prefix.
  reporter: [
    { bucket: work.bucket, prefixes: [work.prefix], access: ['read', 'delete', 'list'] },
    { bucket: jobs.bucket, prefixes: [jobs.prefix, divergences.prefix], access: ['write'] },
    { bucket: checkpoints.bucket, prefixes: [checkpoints.prefix], access: ['write'] },
  ],
  // Reads the summary for the message.
  notifier: [{ bucket: jobs.bucket, prefixes: [jobs.prefix], access: ['read'] }],
  // Uploads files (POST /v1/jobs; an upload refused half-way is deleted), reads outputs and
  // checkpoints (job detail, reprocess), writes the checkpoint of a job it cancels. A job without a
  // checkpoint is the usual case: S3 answers a missing object with 404 only to a role that may list
  // the bucket (403 otherwise, and the job detail failed), so the checkpoints bucket (nothing else
  // is in it) may be listed whole.
  'admin-api': [
    { bucket: 'ingress', prefixes: [everything], access: ['read', 'write', 'list'] },
    { bucket: 'ingress', prefixes: ['uploads/'], access: ['delete'] },
    { bucket: jobs.bucket, prefixes: [jobs.prefix, divergences.prefix], access: ['read', 'list'] },
    { bucket: checkpoints.bucket, prefixes: [checkpoints.prefix], access: ['read', 'write'] },
    { bucket: checkpoints.bucket, prefixes: [everything], access: ['list'] },
  ],
  // Has yesterday's file arrived?
  'delivery-check': [{ bucket: 'ingress', prefixes: [everything], access: ['list'] }],
};

/** Which workloads publish events (EventBridge PutEvents on the recon bus). */
const PUBLISHERS: ReadonlySet<Workload> = new Set<Workload>([
  'ingest',
  'partition',
  'matcher',
  'reporter',
  'admin-api',
  'delivery-check',
]);

/**
 * Buckets named in every container's environment (names only: access is S3_ACCESS). The runtime
 * (packages/runtime-distributed config.ts) has one store bucket, RECON_STORE_BUCKET = output; the
 * work/ and checkpoints/ prefixes belong in their own buckets, named by RECON_WORK_BUCKET and
 * RECON_CHECKPOINT_BUCKET, which the runtime's store must route to (see infra/README.md).
 */
const BUCKET_ENV: Record<string, DataBucket> = {
  RECON_INGRESS_BUCKET: 'ingress',
  RECON_STORE_BUCKET: 'output',
  RECON_WORK_BUCKET: 'intermediate',
  RECON_CHECKPOINT_BUCKET: 'checkpoints',
};

export interface ServicesProps {
  config: ReconConfig;
  vpc: ec2.IVpc;
  storage: Storage;
  messaging: Messaging;
  database: ExistingDatabase;
  /** The internal base's own RDS, when it has one (else the base is read from `database`). */
  baseDatabase?: ExistingDatabase;
  analytics: Analytics;
}

/** The services that read the internal base: partition (COPY extraction), matcher (lookups by id). */
export const BASE_READERS: readonly WorkerName[] = ['partition', 'matcher'];

/**
 * ECS Fargate: one service per recon service consuming its own queue, the admin API behind an
 * internal ALB, the matcher scaled on its queue's depth, and the scheduled missing-delivery check.
 */
export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly workers: Record<WorkerName, ecs.FargateService>;
  readonly taskRoles: Record<Workload, iam.Role>;
  readonly taskDefinitions: Record<Workload, ecs.FargateTaskDefinition>;
  /** What each workload may touch in S3 (S3_ACCESS). */
  readonly s3Access = S3_ACCESS;
  readonly admin: ecsPatterns.ApplicationLoadBalancedFargateService;
  /**
   * Where the admin API writes its first admin key, on its first start with no key: the key never
   * goes to the task's log (CloudWatch). Operators read it from here.
   */
  readonly adminBootstrapKey: secretsmanager.Secret;
  readonly matcherScaling: ecs.ScalableTaskCount;
  readonly deliveryCheckRule: events.Rule;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ServicesProps,
  ) {
    super(scope, id);
    const { config, vpc, messaging, database, baseDatabase } = props;
    const subnets: ec2.SubnetSelection = { subnets: vpc.privateSubnets };

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: config.prefix,
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.taskRoles = {} as Record<Workload, iam.Role>;
    this.taskDefinitions = {} as Record<Workload, ecs.FargateTaskDefinition>;
    const workers = {} as Record<WorkerName, ecs.FargateService>;
    for (const name of WORKERS) {
      const settings = WORKER_SETTINGS[name];
      const { queue } = messaging.queues[name];
      const taskDefinition = this.taskDefinition(name, settings.cpu, settings.memoryMiB);
      // A base of its own, for the services that read it; otherwise they read it through DATABASE_URL.
      const base = BASE_READERS.includes(name) ? baseDatabase : undefined;
      queue.grantConsumeMessages(taskDefinition.taskRole);
      if (name === 'reporter') props.analytics.grantRefresh(taskDefinition.taskRole);
      this.addContainer(taskDefinition, name, {
        environment: {
          RECON_QUEUE_URL: queue.queueUrl,
          RECON_VISIBILITY_TIMEOUT_SECONDS: String(settings.visibilityTimeoutSeconds),
          RECON_MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
          ...this.extraEnvironment(name),
          ...(base === undefined ? {} : { RECON_BASE_DATABASE_URL: base.url() }),
        },
        secrets: {
          ...this.extraSecrets(name),
          ...(base === undefined ? {} : base.secrets('RECON_BASE_PGUSER', 'RECON_BASE_PGPASSWORD')),
        },
      });
      const securityGroup = this.securityGroup(name);
      database.allowFrom(securityGroup, `recon ${name}`);
      base?.allowFrom(securityGroup, `recon ${name} (internal base)`);
      workers[name] = new ecs.FargateService(this, `${name}-service`, {
        serviceName: `${config.prefix}-${name}`,
        cluster: this.cluster,
        taskDefinition,
        desiredCount: name === 'matcher' ? config.matcher.minTasks : 1,
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        vpcSubnets: subnets,
        securityGroups: [securityGroup],
        assignPublicIp: false,
        circuitBreaker: { rollback: true },
        enableExecuteCommand: false,
      });
    }
    this.workers = workers;
    this.matcherScaling = this.scaleMatcher();
    // Holds a generated placeholder until the API's first start replaces it with the key.
    this.adminBootstrapKey = new secretsmanager.Secret(this, 'AdminBootstrapKey', {
      secretName: `${props.config.prefix}/admin-bootstrap-key`,
      description:
        'recon admin API: its first admin key (rk_…), written by the API on its first start with no key',
    });
    this.admin = this.adminApi(subnets);
    this.deliveryCheckRule = this.deliveryCheck(subnets);
  }

  private taskDefinition(name: Workload, cpu: number, memoryMiB: number): ecs.FargateTaskDefinition {
    const role = new iam.Role(this, `${name}-task-role`, {
      roleName: `${this.props.config.prefix}-${name}-task`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `recon ${name}: only its own queue, prefixes and keys`,
    });
    this.taskRoles[name] = role;
    this.props.storage.grant(role, S3_ACCESS[name]);
    if (PUBLISHERS.has(name)) this.props.messaging.bus.grantPutEventsTo(role);
    const taskDefinition = new ecs.FargateTaskDefinition(this, `${name}-task`, {
      family: `${this.props.config.prefix}-${name}`,
      cpu,
      memoryLimitMiB: memoryMiB,
      taskRole: role,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinitions[name] = taskDefinition;
    return taskDefinition;
  }

  private addContainer(
    taskDefinition: ecs.FargateTaskDefinition,
    name: Workload,
    options: {
      environment: Record<string, string>;
      secrets?: Record<string, ecs.Secret>;
      command?: string[];
    },
  ): ecs.ContainerDefinition {
    const { config, storage, messaging, database } = this.props;
    const logGroup = new logs.LogGroup(this, `${name}-logs`, {
      logGroupName: `/${config.prefix}/${name}`,
      retention: logs.RetentionDays.THREE_MONTHS, // §10.5: 90 days in CloudWatch
    });
    const bucketEnv = Object.fromEntries(
      Object.entries(BUCKET_ENV).map(([variable, b]) => [variable, storage.buckets[b].bucketName]),
    );
    return taskDefinition.addContainer(name, {
      containerName: name,
      image: this.image(name),
      command: options.command,
      user: 'node',
      environment: {
        RECON_SERVICE: name,
        AWS_REGION: Stack.of(this).region,
        RECON_LOG_LEVEL: 'info',
        // Always the bus (never direct SQS publishing); PutEvents is granted only to PUBLISHERS.
        RECON_EVENT_BUS_NAME: messaging.bus.eventBusName,
        RECON_QUEUE_PREFIX: `${config.prefix}-`,
        ...bucketEnv,
        ...database.environment(),
        ...options.environment,
      },
      secrets: { ...database.secrets(), ...options.secrets },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: name, logGroup }),
      // tini as PID 1: SIGTERM reaches node, which stops receiving and drains (graceful shutdown).
      linuxParameters: new ecs.LinuxParameters(this, `${name}-linux`, { initProcessEnabled: true }),
      stopTimeout: Duration.seconds(120),
    });
  }

  private image(name: Workload): ecs.ContainerImage {
    const source = this.props.config.images;
    const service = IMAGE_OF[name];
    if (source.kind === 'asset') {
      return ecs.ContainerImage.fromAsset(source.workspaceRoot, {
        file: 'infra/docker/Dockerfile',
        buildArgs: { SERVICE: service },
        exclude: ASSET_EXCLUDES,
        // The tasks run on X86_64: an image built on an arm64 machine would not start there.
        platform: Platform.LINUX_AMD64,
      });
    }
    const id = `repository-${service}`;
    const repository =
      (this.node.tryFindChild(id) as ecr.IRepository | undefined) ??
      ecr.Repository.fromRepositoryName(this, id, source.repositoryName);
    return ecs.ContainerImage.fromEcrRepository(repository, `${service}-${source.tag}`);
  }

  private securityGroup(name: Workload): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, `${name}-sg`, {
      vpc: this.props.vpc,
      description: `recon ${name} tasks`,
      // Outbound: AWS APIs (SQS, S3, EventBridge, Glue, QuickSight), PostgreSQL, Slack.
      allowAllOutbound: true,
    });
  }

  private extraEnvironment(name: WorkerName): Record<string, string> {
    const { config, analytics } = this.props;
    const n = config.notifications;
    if (name === 'reporter') {
      return {
        RECON_GLUE_DATABASE: analytics.databaseName,
        RECON_GLUE_TABLE: analytics.tableName,
        RECON_QUICKSIGHT_ACCOUNT_ID: Stack.of(this).account,
        RECON_QUICKSIGHT_DATASET_ID: config.quickSight.dataSetId,
      };
    }
    if (name === 'notifier') {
      return {
        // With an SES identity the notifier's email goes through SES (the task role may send).
        ...(n.sesIdentity ? { RECON_EMAIL_TRANSPORT: 'ses' } : {}),
        ...(n.mailFrom ? { RECON_MAIL_FROM: n.mailFrom } : {}),
        ...(n.mailTo ? { RECON_MAIL_TO: n.mailTo } : {}),
        ...(n.dashboardUrl ? { RECON_DASHBOARD_URL: n.dashboardUrl } : {}),
      };
    }
    return {};
  }

  private extraSecrets(name: WorkerName): Record<string, ecs.Secret> {
    const n = this.props.config.notifications;
    if (name !== 'notifier') return {};
    const role = this.taskRoles.notifier;
    if (n.sesIdentity) {
      const { account, region, partition } = Stack.of(this);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [`arn:${partition}:ses:${region}:${account}:identity/${n.sesIdentity}`],
        }),
      );
    }
    if (!n.slackWebhookSecretArn) return {};
    const webhook = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'SlackWebhook',
      n.slackWebhookSecretArn,
    );
    return { RECON_SLACK_WEBHOOK_URL: ecs.Secret.fromSecretsManager(webhook) };
  }

  /**
   * Step scaling on the matcher queue's backlog (visible + in flight): out in steps up to
   * maxTasks, in one task at a time down to minTasks, and only when nothing is in flight, so a
   * scale-in never interrupts a shard (a stopped task would hand its message back anyway).
   */
  private scaleMatcher(): ecs.ScalableTaskCount {
    const { config, messaging } = this.props;
    const { queue } = messaging.queues.matcher;
    const period = Duration.minutes(1);
    const backlog = new cloudwatch.MathExpression({
      expression: 'visible + inflight',
      label: 'matcher backlog (messages)',
      period,
      usingMetrics: {
        visible: queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        inflight: queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: 'Maximum' }),
      },
    });
    const scaling = this.workers.matcher.autoScaleTaskCount({
      minCapacity: config.matcher.minTasks,
      maxCapacity: config.matcher.maxTasks,
    });
    scaling.scaleOnMetric('QueueDepth', {
      metric: backlog,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: 1, change: +1 },
        { lower: 20, change: +3 },
        { lower: 100, change: +6 },
      ],
      cooldown: Duration.minutes(2),
      evaluationPeriods: 1,
    });
    return scaling;
  }

  /**
   * The admin API (`recon serve --distributed`, docs/admin-api.md): Fastify on `admin.port`,
   * health at GET /health, readiness at GET /ready. Behind an internal ALB reachable only from `admin.allowedCidr`.
   */
  private adminApi(subnets: ec2.SubnetSelection): ecsPatterns.ApplicationLoadBalancedFargateService {
    const { config, vpc, storage, database } = this.props;
    const taskDefinition = this.taskDefinition('admin-api', 512, 1024);
    // Only PutSecretValue: the API writes the key once and never reads it back.
    this.taskRoles['admin-api'].addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:PutSecretValue'],
        resources: [this.adminBootstrapKey.secretArn],
      }),
    );
    const container = this.addContainer(taskDefinition, 'admin-api', {
      environment: {
        RECON_HTTP_HOST: '0.0.0.0',
        RECON_HTTP_PORT: String(config.admin.port),
        // The API drives the distributed runtime: jobs go to the services through the bus.
        RECON_SERVE_RUNTIME: 'distributed',
        RECON_SECURE_COOKIES: config.admin.certificateArn ? 'true' : 'false',
        // The ALB appends the caller's address to X-Forwarded-For.
        RECON_TRUST_PROXY_HOPS: '1',
        // The read model keeps a job as long as the output bucket keeps its Parquet.
        RECON_READ_MODEL_RETENTION_DAYS: String(config.retention.expireAfterDays),
        // The first admin key goes to this secret, not to the log.
        RECON_BOOTSTRAP_KEY_SECRET: this.adminBootstrapKey.secretArn,
      },
      command: ['serve', '--host', '0.0.0.0', '--port', String(config.admin.port)],
    });
    container.addPortMappings({ containerPort: config.admin.port, protocol: ecs.Protocol.TCP });
    const serviceSg = this.securityGroup('admin-api');
    database.allowFrom(serviceSg, 'recon admin-api');

    const lbSg = new ec2.SecurityGroup(this, 'admin-lb-sg', {
      vpc,
      description: 'recon admin API load balancer',
      allowAllOutbound: false,
    });
    const listenerPort = config.admin.certificateArn ? 443 : 80;
    lbSg.addIngressRule(
      ec2.Peer.ipv4(config.admin.allowedCidr),
      ec2.Port.tcp(listenerPort),
      'admin API clients',
    );
    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'AdminLoadBalancer', {
      vpc,
      internetFacing: false,
      vpcSubnets: subnets,
      securityGroup: lbSg,
      dropInvalidHeaderFields: true,
    });
    loadBalancer.logAccessLogs(storage.logsBucket, 'alb/admin-api');

    const admin = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'AdminApi', {
      serviceName: `${config.prefix}-admin-api`,
      cluster: this.cluster,
      taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 100,
      loadBalancer,
      openListener: false,
      publicLoadBalancer: false,
      taskSubnets: subnets,
      securityGroups: [serviceSg],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      ...(config.admin.certificateArn
        ? {
            protocol: elbv2.ApplicationProtocol.HTTPS,
            listenerPort: 443,
            sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
            certificate: acm.Certificate.fromCertificateArn(
              this,
              'AdminCertificate',
              config.admin.certificateArn,
            ),
          }
        : { protocol: elbv2.ApplicationProtocol.HTTP, listenerPort: 80 }),
    });
    admin.targetGroup.configureHealthCheck({ path: '/health', healthyHttpCodes: '200' });
    return admin;
  }

  /**
   * The runbook's daily check (issue 4): if no file for D-1 has arrived by the scheduled time, an
   * alert event is raised. A one-shot Fargate task of the CLI image, `recon check-delivery`
   * (apps/cli/src/commands/check-delivery.ts): it lists the ingress bucket under `<D-1>/`
   * (RECON_INGRESS_BUCKET) and asks the job store (DATABASE_URL) for a job of that date; when
   * there is none it puts `delivery.missing` on the bus (RECON_EVENT_BUS_NAME), which routes it to
   * the notifier. The schedule is the cutoff: the task checks when it runs; D-1 is yesterday in
   * RECON_DELIVERY_TIME_ZONE.
   */
  private deliveryCheck(subnets: ec2.SubnetSelection): events.Rule {
    const { config, database } = this.props;
    const taskDefinition = this.taskDefinition('delivery-check', 256, 512);
    this.addContainer(taskDefinition, 'delivery-check', {
      // São Paulo: the default schedule (12:00 UTC) is 09:00 there.
      environment: { RECON_DELIVERY_TIME_ZONE: 'America/Sao_Paulo' },
      command: ['check-delivery'],
    });
    const securityGroup = this.securityGroup('delivery-check');
    database.allowFrom(securityGroup, 'recon delivery-check');
    const rule = new events.Rule(this, 'DeliveryCheckSchedule', {
      ruleName: `${config.prefix}-missing-delivery-check`,
      description: 'Daily: has the vendor file for D-1 arrived?',
      schedule: events.Schedule.expression(config.deliveryCheckSchedule),
    });
    rule.addTarget(
      new targets.EcsTask({
        cluster: this.cluster,
        taskDefinition,
        subnetSelection: subnets,
        securityGroups: [securityGroup],
        assignPublicIp: false,
        retryAttempts: 3,
        deadLetterQueue: this.props.messaging.deliveryDlq,
      }),
    );
    return rule;
  }
}

/** Kept out of the Docker build context (and of the asset hash). */
export const ASSET_EXCLUDES = [
  '**/node_modules',
  '.git',
  '.recon',
  '.tmp',
  '.ci',
  '**/cdk.out',
  '**/out',
  '**/test-artifacts',
  '**/*.log',
];
