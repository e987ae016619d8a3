import { randomInt } from 'node:crypto';
import { createPostgresJobStore, createS3Client, S3ObjectStore } from '@recon/adapters';
import { createSecretsManagerClient, secretValueWriter } from '@recon/adapters/aws/secrets';
import { createReconLogger } from '@recon/adapters/logger';
import type { JobControl, SubmitInput, SubmitResult } from '@recon/admin';
import {
  type EventPublisher,
  FINAL_JOB_STATUSES,
  type JobQueries,
  type JobRequested,
  type JobStatus,
  type JobStore,
  type ObjectStore,
  ReconError,
  type Scope,
  stopJob,
} from '@recon/contracts';
import {
  DEFAULT_OBJECT_CREATED_OPTIONS,
  defaultShardBuckets,
  defaultShardCount,
  objectSha256,
  resolveReferenceDate,
} from '@recon/ingest';
import { CommonEnvSchema, envFlag, jobObjectStore, parseEnv } from '@recon/runtime-distributed';
import { z } from 'zod';
import { awsPorts } from '../commands/aws-ports.ts';
import { reprocessDistributed } from '../commands/reprocess-distributed.ts';
import type { Env } from '../config.ts';
import type { BootstrapKeySink } from './bootstrap.ts';
import { listenAdmin, type RunningServer } from './server.ts';

export interface DistributedControlOptions {
  jobs: JobStore & JobQueries;
  /** The store bucket (checkpoints of cancelled jobs land there, or in their own bucket). */
  store: ObjectStore;
  ingress: ObjectStore;
  /** EventBridge in AWS, the routed SQS queues locally. */
  events: EventPublisher;
  /** The base relation the partition service reads (RECON_BASE_RELATION of ingest/partition). */
  baseRelation: string;
  scope: Scope;
  /** Resumes a stopped job (`recon reprocess --database-url`): reopens it and publishes what is pending. */
  reprocess: (jobId: string) => Promise<unknown>;
  now?: () => Date;
}

/**
 * Job control of `recon serve` on the distributed runtime (its own Fargate service in AWS): the
 * server starts a job by publishing `job.requested` for an object of the ingress bucket, and the
 * services do the work; cancel and reprocess act on the shared PostgreSQL job store. Uploads land
 * under `uploads/`, which the bucket's Object Created route ignores (only `YYYY-MM-DD/<file>.csv`
 * starts a job there), so an upload becomes exactly one job: this one.
 */
export class DistributedJobControl implements JobControl {
  private readonly now: () => Date;

  constructor(private readonly o: DistributedControlOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async submit(input: SubmitInput): Promise<SubmitResult> {
    const size = await this.o.ingress.size(input.key);
    if (size === null)
      throw new ReconError('OBJECT_NOT_FOUND', `no object ${input.key} in the ingress bucket`);
    const fileSha256 = await objectSha256(this.o.ingress, input.key);
    if (input.force !== true) {
      const earlier = await this.o.jobs.findFileJob(fileSha256);
      if (earlier?.status === 'SUCCEEDED')
        return { jobId: earlier.jobId, status: earlier.status, alreadyReconciled: true };
      // The same file in a job still running: that job is the answer, as a conflict (a 202 with its
      // id read as a new job), the same as the embedded runtime says.
      if (earlier !== undefined) {
        throw new ReconError(
          'JOB_RUNNING',
          `job ${earlier.jobId} (${earlier.status}) is already reconciling this file; retry when it has ended`,
        );
      }
    }
    const now = this.now();
    const referenceDate = resolveReferenceDate(input.key, input.referenceDate, now);
    // Ingest refuses a second open job for the date too (claimReferenceDate); saying so here
    // answers the caller at once instead of failing the new job.
    const sameDay = await this.o.jobs.listJobs({
      dtFrom: referenceDate,
      dtTo: referenceDate,
      offset: 0,
      limit: 50,
    });
    const open = sameDay.jobs.find((j) => !FINAL_JOB_STATUSES.includes(j.status));
    if (open !== undefined) {
      throw new ReconError(
        'JOB_RUNNING',
        `job ${open.jobId} (${open.status}) is already reconciling reference date ${referenceDate}; one job per date at a time — retry when it has ended`,
      );
    }
    // The job id is taken by creating the job under it: a free id probed first and created after
    // could be taken in between (another server, a job of the same id), and this server would then
    // announce that job as its own.
    const day = now.toISOString().slice(0, 10).replaceAll('-', '');
    const shardCount = defaultShardCount(size, 0);
    for (let attempt = 0; attempt < 100; attempt++) {
      const jobId = `JOB-${day}-${String(randomInt(1_000_000)).padStart(6, '0')}`;
      const request: JobRequested = {
        jobId,
        file: { key: input.key },
        base: { kind: 'postgres', relation: this.o.baseRelation },
        scope: input.scope ?? this.o.scope,
        referenceDate,
        arrivedAt: now.toISOString(),
        // As a file dropped in the bucket (ingest's Object Created route).
        maxInvalidRate: DEFAULT_OBJECT_CREATED_OPTIONS.maxInvalidRate,
        shardCount,
        shardBuckets: defaultShardBuckets(size, 0, shardCount),
        chunkBytes: DEFAULT_OBJECT_CREATED_OPTIONS.chunkBytes,
        fileSha256,
      };
      if (!(await this.o.jobs.createJob(request, now.toISOString()))) continue;
      await this.o.events.publish('job.requested', `job.requested:${jobId}`, request);
      return { jobId, status: 'RECEIVED', alreadyReconciled: false };
    }
    throw new ReconError('INTERNAL', `no free job id for ${day} after 100 tries`);
  }

  async reprocess(jobId: string): Promise<{ jobId: string; status: JobStatus }> {
    await this.o.reprocess(jobId);
    const job = await this.o.jobs.getJob(jobId);
    return { jobId, status: job?.status ?? 'RECEIVED' };
  }

  cancel(jobId: string, by: string): Promise<boolean> {
    return stopJob({ jobs: this.o.jobs, store: this.o.store, events: this.o.events, now: this.now }, jobId, {
      status: 'CANCELLED',
      code: 'CANCELLED',
      message: (job) =>
        `cancelled through the admin API by key ${by} while ${job.status}; checkpoint written`,
    });
  }
}

/** What `recon serve --distributed` reads beside the services' common variables. */
export const DistributedServeEnvSchema = CommonEnvSchema.extend({
  /** The base relation and scope of jobs started through the API (as ingest's own). */
  RECON_BASE_RELATION: z.string().min(1).default('transacoes'),
  RECON_SCOPE: z.enum(['date-window', 'all']).default('date-window'),
  /** Mark the session cookie Secure (the ALB terminates TLS). */
  RECON_SECURE_COOKIES: envFlag,
  /** Proxies in front that append the caller's address to X-Forwarded-For (the ALB: 1). */
  RECON_TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /**
   * A Secrets Manager secret (ARN or name) that the first admin key is written to, instead of
   * the output (the task's log), when the server starts with no key (the CDK app sets it).
   */
  RECON_BOOTSTRAP_KEY_SECRET: z.string().min(1).optional(),
});

/**
 * `recon serve --distributed` (the admin API's Fargate task): the same API and dashboard over
 * the distributed runtime — S3 for the ingress and store buckets, the PostgreSQL job store and
 * read model (DATABASE_URL), events to EventBridge (or the SQS queues locally).
 */
export async function startDistributedServer(
  cliEnv: Env,
  source: Readonly<Record<string, string | undefined>>,
  listen: { host: string; port: number },
): Promise<RunningServer<DistributedJobControl>> {
  const env = parseEnv(DistributedServeEnvSchema, source);
  const connection = {
    region: env.AWS_REGION,
    ...(env.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: env.AWS_ENDPOINT_URL }),
  };
  const s3 = createS3Client(connection);
  const closers: (() => Promise<void> | void)[] = [() => s3.destroy()];
  try {
    const ports = await awsPorts({ ...cliEnv, ...pickAws(env) }, 'admin');
    closers.push(() => ports.close());
    const db = await createPostgresJobStore(env.DATABASE_URL, { maxConnections: env.RECON_PG_POOL_SIZE });
    closers.push(() => db.close());
    const store = jobObjectStore(s3, env);
    const ingress = new S3ObjectStore({ client: s3, bucket: env.RECON_INGRESS_BUCKET });
    const control = new DistributedJobControl({
      jobs: db.store,
      store,
      ingress,
      events: ports.events,
      baseRelation: env.RECON_BASE_RELATION,
      scope: env.RECON_SCOPE,
      reprocess: (jobId) => reprocessDistributed(cliEnv, { jobId, databaseUrl: env.DATABASE_URL }),
    });
    let bootstrapKeySink: BootstrapKeySink | undefined;
    const secret = env.RECON_BOOTSTRAP_KEY_SECRET;
    if (secret !== undefined) {
      const secrets = createSecretsManagerClient(connection);
      closers.push(() => secrets.destroy());
      bootstrapKeySink = { where: `the secret ${secret}`, put: secretValueWriter(secrets, secret) };
    }
    const server = await listenAdmin({
      databaseUrl: env.DATABASE_URL,
      jobs: db.store,
      store,
      ingress,
      control,
      host: listen.host,
      port: listen.port,
      secureCookies: env.RECON_SECURE_COOKIES,
      trustProxyHops: env.RECON_TRUST_PROXY_HOPS,
      log: createReconLogger({ level: env.RECON_LOG_LEVEL, base: { service: 'admin-api' } }),
      readModelRetentionDays: cliEnv.RECON_READ_MODEL_RETENTION_DAYS,
      close: async () => {
        for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
      },
    });
    return bootstrapKeySink === undefined ? server : { ...server, bootstrapKeySink };
  } catch (error) {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
    throw error;
  }
}

function pickAws(env: z.infer<typeof DistributedServeEnvSchema>): Partial<Env> {
  return {
    AWS_REGION: env.AWS_REGION,
    ...(env.AWS_ENDPOINT_URL === undefined ? {} : { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL }),
    ...(env.RECON_EVENT_BUS_NAME === undefined ? {} : { RECON_EVENT_BUS_NAME: env.RECON_EVENT_BUS_NAME }),
    RECON_QUEUE_PREFIX: env.RECON_QUEUE_PREFIX,
    RECON_INGRESS_BUCKET: env.RECON_INGRESS_BUCKET,
  };
}
