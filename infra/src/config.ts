import type { QueueName } from '@recon/contracts';

/**
 * Everything that differs between deployments, read once from CDK context (`cdk.json`, or
 * `-c key=value`). Nothing here triggers a lookup: the VPC is described by ids, so `cdk synth`
 * runs offline. The existing PostgreSQL (RDS) instances are not configured here but by
 * CloudFormation parameters of the stack (see `database.ts`), so the same template deploys against
 * any instance; only whether the internal base has an instance of its own is (`baseDatabase`).
 */
export interface ReconConfig {
  /** Prefix of every physical name (queues, rules, log groups…). */
  prefix: string;
  network: {
    vpcId: string;
    vpcCidr: string;
    availabilityZones: string[];
    /** Private subnets (with a route to AWS APIs: NAT or VPC endpoints) for the tasks and the internal ALB. */
    privateSubnetIds: string[];
  };
  /** Where the container images come from (see infra/docker/Dockerfile). */
  images: ImageSource;
  /**
   * Where the internal base is read (partition, matcher): `job-store`, the same RDS as the job
   * store (parameters Db*); or `separate`, an RDS of its own, such as the company's, with its own
   * endpoint, credentials secret (a read-only user is enough when ordem_id has a unique index;
   * else TEMP too) and security group (parameters BaseDb*).
   */
  baseDatabase: 'job-store' | 'separate';
  matcher: { minTasks: number; maxTasks: number };
  retention: {
    /** Days before data objects move to Glacier. */
    glacierAfterDays: number;
    /** Technical document §10.5: data is kept 2 years. */
    expireAfterDays: number;
    /** Intermediate objects (chunks, parts, shard results): kept long enough to reprocess from a checkpoint. */
    intermediateExpireAfterDays: number;
  };
  /** EventBridge schedule (UTC) of the missing-delivery check: default 12:00 UTC = 09:00 in São Paulo. */
  deliveryCheckSchedule: string;
  admin: {
    port: number;
    /** Only this CIDR may reach the admin API's (internal) load balancer. */
    allowedCidr: string;
    /** With a certificate the listener is HTTPS on 443; without one, HTTP on 80 (inside the VPC only). */
    certificateArn?: string;
  };
  glue: { database: string; table: string; projectionStart: string };
  quickSight: {
    dataSetId: string;
    /** QuickSight user or group given access to the data source, dataset and analysis. */
    principalArn?: string;
  };
  notifications: {
    alarmEmail?: string;
    /** Secrets Manager secret (plain string) holding the Slack incoming-webhook URL. */
    slackWebhookSecretArn?: string;
    /** SES identity the notifier sends from, e.g. `example.com` or `recon@example.com`. */
    sesIdentity?: string;
    mailFrom?: string;
    mailTo?: string;
    dashboardUrl?: string;
  };
}

export type ImageSource =
  /** Images built and pushed by CI: `<repository>:<service>-<tag>`. */
  | { kind: 'registry'; repositoryName: string; tag: string }
  /** Images built by `cdk deploy` from the workspace (needs Docker where deploy runs). */
  | { kind: 'asset'; workspaceRoot: string };

/** The recon services deployed as Fargate services: the queue consumers and the admin API. */
export const WORKERS = [
  'ingest',
  'partition',
  'matcher',
  'reporter',
  'notifier',
] as const satisfies readonly QueueName[];
export type WorkerName = (typeof WORKERS)[number];

export interface WorkerSettings {
  cpu: number;
  memoryMiB: number;
  /**
   * The queue's default visibility timeout. The consumer asks for its own on every receive and
   * extends it while a handler runs (SqsConsumer heartbeat), so this is the fallback for a consumer
   * that dies mid-message: how long before another one may take it.
   */
  visibilityTimeoutSeconds: number;
  /** Receives before a message goes to the DLQ (the adapters' provisioning default: 5). */
  maxReceiveCount: number;
}

/**
 * Per service: its size and its queue's settings. Keyed by QueueName, so a queue added to
 * the contracts without settings here fails the type check.
 */
export const WORKER_SETTINGS: Record<QueueName, WorkerSettings> = {
  // Streams the ~100 MB vendor file into chunks: a few minutes at most.
  ingest: { cpu: 1024, memoryMiB: 2048, visibilityTimeoutSeconds: 300, maxReceiveCount: 5 },
  // One chunk, or the whole base via COPY (the longest single message of this service).
  partition: { cpu: 1024, memoryMiB: 4096, visibilityTimeoutSeconds: 600, maxReceiveCount: 5 },
  // One shard: worker threads, CPU-bound.
  matcher: { cpu: 2048, memoryMiB: 4096, visibilityTimeoutSeconds: 600, maxReceiveCount: 5 },
  // Merges every shard, writes the Parquet, refreshes the catalog and BI.
  reporter: { cpu: 1024, memoryMiB: 4096, visibilityTimeoutSeconds: 900, maxReceiveCount: 5 },
  // A Slack post and an email, with retries.
  notifier: { cpu: 256, memoryMiB: 512, visibilityTimeoutSeconds: 120, maxReceiveCount: 5 },
};

export const DEFAULT_CONFIG: ReconConfig = {
  prefix: 'recon',
  network: {
    vpcId: 'vpc-00000000000000000',
    vpcCidr: '10.0.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    privateSubnetIds: ['subnet-00000000000000001', 'subnet-00000000000000002'],
  },
  images: { kind: 'registry', repositoryName: 'recon', tag: '0.1.0' },
  baseDatabase: 'job-store',
  matcher: { minTasks: 1, maxTasks: 10 },
  retention: { glacierAfterDays: 90, expireAfterDays: 730, intermediateExpireAfterDays: 30 },
  deliveryCheckSchedule: 'cron(0 12 * * ? *)',
  admin: { port: 8080, allowedCidr: '10.0.0.0/16' },
  glue: { database: 'recon', table: 'divergencias', projectionStart: '2024-01-01' },
  quickSight: { dataSetId: 'recon-divergencias' },
  notifications: {},
};

/** Reads `recon` from the CDK context (a JSON object, merged over the defaults, one level deep). */
export function configFromContext(context: unknown): ReconConfig {
  const given = (typeof context === 'string' ? JSON.parse(context) : (context ?? {})) as Partial<
    Record<keyof ReconConfig, unknown>
  >;
  const merged = { ...DEFAULT_CONFIG } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    const base = merged[key];
    merged[key] =
      isPlainObject(base) && isPlainObject(value) && key !== 'images' ? { ...base, ...value } : value;
  }
  const config = merged as unknown as ReconConfig;
  validate(config);
  return config;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function validate(config: ReconConfig): void {
  const problems: string[] = [];
  const { network, matcher, retention } = config;
  if (network.privateSubnetIds.length < 2)
    problems.push('network.privateSubnetIds: at least 2 (the ALB needs 2 AZs)');
  if (network.availabilityZones.length !== network.privateSubnetIds.length) {
    problems.push('network.availabilityZones: one per private subnet, in the same order');
  }
  if (!(matcher.minTasks >= 0 && matcher.maxTasks >= Math.max(1, matcher.minTasks))) {
    problems.push('matcher: need 0 <= minTasks <= maxTasks, maxTasks >= 1');
  }
  if (!(retention.expireAfterDays > retention.glacierAfterDays)) {
    problems.push('retention: expireAfterDays must be after glacierAfterDays');
  }
  if (config.baseDatabase !== 'job-store' && config.baseDatabase !== 'separate')
    problems.push(`baseDatabase: 'job-store' or 'separate', not ${JSON.stringify(config.baseDatabase)}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(config.glue.projectionStart))
    problems.push('glue.projectionStart: YYYY-MM-DD');
  if (!/^[\w-]{1,128}$/.test(config.quickSight.dataSetId))
    problems.push('quickSight.dataSetId: [A-Za-z0-9_-]{1,128}');
  const n = config.notifications;
  if (n.sesIdentity && !(n.mailFrom && n.mailTo))
    problems.push('notifications: an sesIdentity needs mailFrom (an address of that identity) and mailTo');
  if (problems.length > 0) throw new Error(`invalid recon infra config:\n- ${problems.join('\n- ')}`);
}
