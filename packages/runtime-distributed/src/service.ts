import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type AwsConnection,
  createEventBridgeClient,
  createPostgresJobStore,
  createReconLogger,
  createS3Client,
  createSqsClient,
  EventBridgePublisher,
  type PostgresJobStore,
  PrefixRoutedStore,
  type ReconLogger,
  S3ObjectStore,
  SqsConsumer,
  SqsPublisher,
  toReconError,
} from '@recon/adapters';
import { pgBaseReader } from '@recon/adapters/postgres/base-reader';
import { PostgresReadModel } from '@recon/adapters/read-model';
import {
  type Clock,
  type EventPublisher,
  type EventType,
  type ObjectStore,
  QUEUES,
  type QueueName,
  ReconError,
  type ServiceContext,
} from '@recon/contracts';
import type { CommonEnv } from './config.ts';
import {
  createInvalidMessageHandler,
  createMessageHandler,
  duplicatingPublisher,
  poisonHandler,
  type QueueHandlers,
} from './handling.ts';
import { type DeadlinePorts, DeadlineSweeper } from './job-control.ts';

/** The line a service prints on stdout once it consumes its queue. */
export const READY_LINE = 'recon-service-ready';

export interface ServiceDefinition {
  /** The service, which is also the name of the queue it consumes. */
  service: QueueName;
  env: CommonEnv;
  /** Handlers of this queue, built with the process's ports (some need the job store). */
  handlers: QueueHandlers | ((ports: ServicePorts) => QueueHandlers);
  /** Messages at once when RECON_CONCURRENCY is unset. */
  defaultConcurrency: number;
  /** A PostgreSQL base reader at this URL (partition). */
  baseDatabaseUrl?: string;
  /** The read model (admin API, dashboard) at this URL: the reporter loads each job there. */
  readModelUrl?: string;
  /**
   * Run the deadline sweeper (RECON_DEADLINE_SWEEP_MS) in this process: ingest does, so a job
   * with no message in flight still times out.
   */
  sweepDeadlines?: boolean;
}

export interface ServicePorts {
  ctx: ServiceContext & { log: ReconLogger };
  jobStore: PostgresJobStore;
  /** Where the AWS services are (region, emulator endpoint), for clients of a service's own. */
  connection: AwsConnection;
  /** Runs `close` when the service stops (after its handlers), e.g. to destroy such a client. */
  onStop(close: () => Promise<void> | void): void;
}

export interface RunningService {
  log: ReconLogger;
  /** Graceful stop: no more receives, running handlers finish (or are abandoned after the timeout), clients close. */
  stop(): Promise<void>;
}

/**
 * Runs one service as a standalone consumer of its own queue: S3 for the object stores, the
 * PostgreSQL job store, SQS (or EventBridge) to publish, a PostgreSQL base reader when given.
 */
export async function startService(def: ServiceDefinition): Promise<RunningService> {
  const { env, service } = def;
  const log = createReconLogger({ level: env.RECON_LOG_LEVEL, base: { service, pid: process.pid } });
  const connection: AwsConnection = {
    region: env.AWS_REGION,
    ...(env.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: env.AWS_ENDPOINT_URL }),
  };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  const closers: (() => Promise<void> | void)[] = [() => s3.destroy(), () => sqs.destroy()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
  };
  try {
    const busName = env.RECON_EVENT_BUS_NAME;
    // Every queue's URL only when events go straight to the queues (no bus). With a bus (AWS) a
    // service may touch its own queue alone: looking the others up is denied.
    const queueUrls =
      busName === undefined ? await resolveQueueUrls(sqs, env.RECON_QUEUE_PREFIX, QUEUES) : null;
    const ownUrl =
      env.RECON_QUEUE_URL ??
      queueUrls?.[service] ??
      (await resolveQueueUrls(sqs, env.RECON_QUEUE_PREFIX, [service]))[service];
    const maxReceiveCount = env.RECON_MAX_RECEIVE_COUNT ?? (await readMaxReceiveCount(sqs, ownUrl));
    const db = await createPostgresJobStore(env.DATABASE_URL, {
      maxConnections: env.RECON_PG_POOL_SIZE,
      onConnectionError: (error) =>
        log.warn({ err: error.message }, 'job store connection lost; it will reconnect'),
    });
    closers.push(db.close);
    const clock = clockOf(env.RECON_FIXED_NOW);
    let events: EventPublisher;
    if (busName !== undefined) {
      const eventBridge = createEventBridgeClient(connection);
      closers.push(() => eventBridge.destroy());
      events = new EventBridgePublisher({
        client: eventBridge,
        eventBusName: busName,
        producedBy: service,
        clock,
      });
    } else {
      events = new SqsPublisher({ client: sqs, queueUrls: queueUrls!, producedBy: service, clock });
    }
    if (env.RECON_TEST_DUPLICATE_DELIVERY) {
      log.warn({}, 'TEST ONLY: every published event is sent twice (RECON_TEST_DUPLICATE_DELIVERY)');
      events = duplicatingPublisher(events);
    }
    const store = jobObjectStore(s3, env);
    const readModel =
      def.readModelUrl === undefined ? undefined : new PostgresReadModel(def.readModelUrl, { poolSize: 2 });
    if (readModel !== undefined) {
      await readModel.migrate();
      closers.push(() => readModel.close());
    }
    const ctx: ServiceContext & { log: ReconLogger } = {
      store:
        env.RECON_TEST_PUT_FAULTS === undefined
          ? store
          : withPutFaults(store, env.RECON_TEST_PUT_FAULTS, log),
      ingress: new S3ObjectStore({ client: s3, bucket: env.RECON_INGRESS_BUCKET }),
      jobs: db.store,
      events,
      clock,
      log,
      ...(def.baseDatabaseUrl === undefined ? {} : { base: pgBaseReader(def.baseDatabaseUrl) }),
      ...(readModel === undefined ? {} : { reports: readModel }),
    };
    const handlers = {
      ...(typeof def.handlers === 'function'
        ? def.handlers({ ctx, jobStore: db.store, connection, onStop: (close) => closers.push(close) })
        : def.handlers),
    };
    for (const type of env.RECON_TEST_FAIL_EVENTS) {
      log.warn({ event: type }, 'TEST ONLY: this handler always fails (RECON_TEST_FAIL_EVENTS)');
      handlers[type as EventType] = poisonHandler(type);
    }
    const deadline: DeadlinePorts = {
      jobs: db.store,
      store: ctx.store,
      events,
      now: () => clock.now(),
      log,
      deadlineMs: env.RECON_JOB_DEADLINE_MS,
    };
    const sweeper =
      def.sweepDeadlines === true
        ? new DeadlineSweeper(
            { ...deadline, openJobIds: () => db.store.openJobIds() },
            env.RECON_DEADLINE_SWEEP_MS,
          )
        : null;
    const concurrency = env.RECON_CONCURRENCY ?? def.defaultConcurrency;
    const consumer = new SqsConsumer({
      client: sqs,
      queueUrl: ownUrl,
      log,
      concurrency,
      batchSize: Math.min(10, concurrency),
      waitTimeSeconds: env.RECON_WAIT_TIME_SECONDS,
      visibilityTimeoutSeconds: env.RECON_VISIBILITY_TIMEOUT_SECONDS,
      invalidRetryDelaySeconds: env.RECON_INVALID_RETRY_DELAY_SECONDS,
      handler: createMessageHandler({
        queue: service,
        handlers,
        ctx,
        jobs: db.store,
        ledger: db.store,
        events,
        maxReceiveCount,
        control: {
          deadline,
          retry: { delaysMs: env.RECON_RETRY_DELAYS_MS, maxAttempts: env.RECON_RETRY_MAX_ATTEMPTS },
          recordRetry: (jobId, record) => db.store.appendFact(jobId, 'retries', record),
        },
      }),
      onInvalidMessage: createInvalidMessageHandler({
        queue: service,
        jobs: db.store,
        events,
        log,
        now: () => clock.now(),
      }),
    });
    consumer.start();
    sweeper?.start();
    log.info(
      { queue_url: ownUrl, concurrency, max_receive_count: maxReceiveCount, events: Object.keys(handlers) },
      `${service} consuming`,
    );
    // Readiness for a supervisor (`recon stack up`, tests), whatever the log level: one stdout line.
    process.stdout.write(`${READY_LINE} ${service} ${process.pid}\n`);
    let stopping: Promise<void> | undefined;
    return {
      log,
      stop: () => {
        stopping ??= (async () => {
          await sweeper?.stop();
          const result = await consumer.stop({ timeoutMs: env.RECON_SHUTDOWN_TIMEOUT_MS });
          log.info(result, `${service} stopped`);
          await closeAll();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * A service's `main`: parse nothing here (the caller parsed its env), start, and stop gracefully
 * on SIGTERM/SIGINT (stop receiving, let running handlers finish, close the clients and the pool).
 * A failure to start exits 1 with the reason on stderr.
 */
export function runMain(start: () => Promise<RunningService>): void {
  start().then(
    (running) => {
      const shutdown = (signal: string) => {
        running.log.info({ signal }, 'shutting down');
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            running.log.error({ err: String(error) }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    },
    (error: unknown) => {
      const text = error instanceof ReconError ? `${error.code}: ${error.message}` : String(error);
      process.stderr.write(`recon service failed to start: ${text}\n`);
      process.exit(1);
    },
  );
}

export function clockOf(fixedNow: string | undefined): Clock {
  if (fixedNow === undefined) return { now: () => new Date() };
  const at = new Date(fixedNow);
  return { now: () => new Date(at) };
}

async function resolveQueueUrls<Q extends QueueName>(
  sqs: SQSClient,
  prefix: string,
  queues: readonly Q[],
): Promise<Record<Q, string>> {
  const entries = await Promise.all(
    queues.map(async (queue) => {
      const name = `${prefix}${queue}`;
      try {
        const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
        return [queue, out.QueueUrl!] as const;
      } catch (error) {
        throw toReconError(error, `looking up queue ${name}`);
      }
    }),
  );
  return Object.fromEntries(entries) as Record<Q, string>;
}

/** The queue's redrive maxReceiveCount; without a redrive policy, messages are never dead-lettered. */
async function readMaxReceiveCount(sqs: SQSClient, queueUrl: string): Promise<number> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const policy = out.Attributes?.RedrivePolicy;
    if (policy === undefined) return Number.POSITIVE_INFINITY;
    const count = Number((JSON.parse(policy) as { maxReceiveCount?: unknown }).maxReceiveCount);
    return Number.isFinite(count) && count >= 1 ? count : Number.POSITIVE_INFINITY;
  } catch (error) {
    throw toReconError(error, `reading the redrive policy of ${queueUrl}`);
  }
}

/**
 * The job's objects: the store bucket, with `work/` and `checkpoints/` in their own buckets when
 * configured (the CDK app gives each its lifecycle and grants).
 */
export function jobObjectStore(
  s3: ConstructorParameters<typeof S3ObjectStore>[0]['client'],
  env: CommonEnv,
): ObjectStore {
  const bucket = (name: string) =>
    new S3ObjectStore({ client: s3, bucket: name, prefix: env.RECON_STORE_PREFIX });
  const main = bucket(env.RECON_STORE_BUCKET);
  const routes: Record<string, ObjectStore> = {};
  if (env.RECON_WORK_BUCKET !== undefined) routes['work/'] = bucket(env.RECON_WORK_BUCKET);
  if (env.RECON_CHECKPOINT_BUCKET !== undefined) routes['checkpoints/'] = bucket(env.RECON_CHECKPOINT_BUCKET);
  return Object.keys(routes).length === 0 ? main : new PrefixRoutedStore(main, routes);
}

/** TEST ONLY (RECON_TEST_PUT_FAULTS): puts of matching keys fail transiently, `times` times in all. */
function withPutFaults(
  store: ObjectStore,
  faults: { keyIncludes: string; times: number },
  log: ReconLogger,
): ObjectStore {
  log.warn(faults, 'TEST ONLY: object-store puts fail transiently (RECON_TEST_PUT_FAULTS)');
  let failed = 0;
  const fail = (key: string) => {
    if (!key.includes(faults.keyIncludes) || failed >= faults.times) return;
    failed++;
    throw new ReconError('INTERNAL', `TEST ONLY: injected transient failure (503 SlowDown) writing ${key}`, {
      transient: true,
    });
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'put' || prop === 'putStream') {
        return async (key: string, body: never) => {
          fail(key);
          return (value as (k: string, b: never) => Promise<void>).call(target, key, body);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
