import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createPostgresJobStore } from '@recon/adapters';
import { LocalFolderStore } from '@recon/adapters/embedded';
import { createReconLogger, type ReconLogger } from '@recon/adapters/logger';
import { PrometheusMetrics, recordJobMetrics } from '@recon/adapters/observability';
import { ApiKeyStore, PostgresReadModel } from '@recon/adapters/read-model';
import { buildAdminApp, type JobControl, SessionTokens } from '@recon/admin';
import { registerDashboard } from '@recon/admin/dashboard';
import {
  type Clock,
  type JobQueries,
  type JobStore,
  type JobSummary,
  type ObjectStore,
  READ_MODEL_RETENTION_DAYS,
  type Scope,
} from '@recon/contracts';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import {
  type DeliverySettings,
  DeliveryWatch,
  ingressFolderSource,
  jobStoreSource,
  notifierAlert,
  outputFolderSource,
  type RaiseAlert,
} from '../delivery.ts';
import type { BaseParam, ReconcileParams } from '../reconcile.ts';
import type { BootstrapKeySink } from './bootstrap.ts';
import { EmbeddedJobControl } from './control.ts';

/** `recon serve` on the embedded runtime. */
export type EmbeddedServer = RunningServer<EmbeddedJobControl>;

export interface ServeOptions {
  /** PostgreSQL of the job store and the read model. */
  databaseUrl: string;
  /** Outputs: Parquet, summaries, checkpoints (the object store). */
  out: string;
  /** Where uploads land and named files are read (default `<out>/ingress`). */
  ingress?: string;
  base: BaseParam;
  scope?: Scope;
  host?: string;
  port?: number;
  uploadLimitBytes?: number;
  rateLimit?: { max: number; windowMs: number };
  secureCookies?: boolean;
  /** Proxies in front that append the caller's address to X-Forwarded-For (see AdminOptions). */
  trustProxyHops?: number;
  /** See ListenOptions.readModelRetentionDays. */
  readModelRetentionDays?: number;
  runSettings?: Partial<ReconcileParams>;
  onJobEnd?: (jobId: string, error: unknown) => void;
  /**
   * The runbook's daily check (RULES §7, missing delivery): at `expectedBy` local time, has the
   * file for D-1 arrived (ingress folder, output folder, job store)? If not, `delivery.missing`
   * goes to the notifier (default: the notifier of `runSettings.notifier`). Off when undefined.
   */
  delivery?: DeliverySettings & { raise?: RaiseAlert; clock?: Clock };
}

export interface RunningServer<C extends JobControl = JobControl> {
  app: FastifyInstance;
  /** `http://host:port` once listening. */
  url: string;
  keys: ApiKeyStore;
  readModel: PostgresReadModel;
  control: C;
  /** Where the first admin key goes instead of the output (`recon serve --distributed` in AWS). */
  bootstrapKeySink?: BootstrapKeySink;
  close(): Promise<void>;
}

/**
 * `recon serve` on one machine: the admin API and dashboard over the embedded runtime, with the
 * job store and the read model in PostgreSQL (so jobs and their divergences outlive the process).
 */
export async function startServer(o: ServeOptions): Promise<RunningServer<EmbeddedJobControl>> {
  const out = resolve(o.out);
  const ingressRoot = resolve(o.ingress ?? join(out, 'ingress'));
  await mkdir(ingressRoot, { recursive: true });
  const store = new LocalFolderStore(out);
  const ingress = new LocalFolderStore(ingressRoot);
  const jobStore = await createPostgresJobStore(o.databaseUrl);
  const metrics = new PrometheusMetrics();
  const control = new EmbeddedJobControl({
    out,
    ingressRoot,
    store,
    jobs: jobStore.store,
    base: o.base,
    scope: o.scope ?? 'date-window',
    readModelUrl: o.databaseUrl,
    // Each job's runtime counts its notifications here too: /metrics outlives the runtimes.
    runSettings: { ...o.runSettings, notificationCounter: metrics },
    onJobEnd: (jobId, error) => {
      void jobStore.store.getJob(jobId).then((job) => {
        const summary = job?.facts.summary as JobSummary | undefined;
        if (summary !== undefined) recordJobMetrics(summary, [metrics]);
      });
      o.onJobEnd?.(jobId, error);
    },
  });
  const log = createReconLogger({
    level: o.runSettings?.logLevel ?? 'silent',
    base: { service: 'recon-serve' },
    ...(o.runSettings?.logDestination === undefined ? {} : { destination: o.runSettings.logDestination }),
  });
  const watch =
    o.delivery === undefined
      ? undefined
      : new DeliveryWatch({
          ...o.delivery,
          sources: [
            jobStoreSource(jobStore.store),
            ingressFolderSource(ingressRoot),
            outputFolderSource(out),
          ],
          raise:
            o.delivery.raise ??
            notifierAlert(o.runSettings?.notifier ?? {}, { storeRoot: out, log, counter: metrics }),
          log,
        });
  try {
    const server = await listenAdmin({
      ...o,
      log,
      jobs: jobStore.store,
      store,
      ingress,
      control,
      metrics,
      close: async () => {
        watch?.stop();
        await watch?.idle();
        await control.idle();
        await jobStore.close();
      },
    });
    watch?.start();
    return server;
  } catch (error) {
    await jobStore.close();
    throw error;
  }
}

export interface ListenOptions<C extends JobControl> {
  databaseUrl: string;
  jobs: JobStore & JobQueries;
  store: ObjectStore;
  ingress: ObjectStore;
  control: C;
  host?: string;
  port?: number;
  uploadLimitBytes?: number;
  rateLimit?: { max: number; windowMs: number };
  secureCookies?: boolean;
  /** Proxies in front that append the caller's address to X-Forwarded-For (see AdminOptions). */
  trustProxyHops?: number;
  metrics?: PrometheusMetrics;
  /** Where the server's own lines go (failed requests, pruning); default none. */
  log?: ReconLogger;
  /**
   * Jobs loaded into the read model more than this many days ago are removed from it when the
   * server starts and once a day after (default 730: §10.5's two years, as the Parquet is kept);
   * 0 keeps them all.
   */
  readModelRetentionDays?: number;
  /** Releases what the caller opened, after the server stopped listening. */
  close: () => Promise<void>;
}

/** The admin app over given ports, listening: the read model and keys are opened (and migrated) here. */
export async function listenAdmin<C extends JobControl>(o: ListenOptions<C>): Promise<RunningServer<C>> {
  const readModel = new PostgresReadModel(o.databaseUrl);
  try {
    await readModel.migrate();
    const keys = new ApiKeyStore(readModel);
    const sessions = new SessionTokens(await keys.secret('session-hmac'));
    const metrics = o.metrics ?? new PrometheusMetrics();
    const app = await buildAdminApp(
      {
        readModel,
        keys,
        jobs: o.jobs,
        store: o.store,
        ingress: o.ingress,
        control: o.control,
        sessions,
        metrics: () => metrics.text(),
        dashboard: registerDashboard,
      },
      {
        ...(o.uploadLimitBytes === undefined ? {} : { uploadLimitBytes: o.uploadLimitBytes }),
        ...(o.rateLimit === undefined ? {} : { rateLimit: o.rateLimit }),
        ...(o.secureCookies === undefined ? {} : { secureCookies: o.secureCookies }),
        ...(o.trustProxyHops === undefined ? {} : { trustProxyHops: o.trustProxyHops }),
        ...(o.log === undefined ? {} : { loggerInstance: o.log as FastifyBaseLogger }),
      },
    );
    const retention = o.readModelRetentionDays ?? READ_MODEL_RETENTION_DAYS;
    const pruning = retention > 0 ? pruneDaily(readModel, retention, app) : undefined;
    const url = await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
    let closing: Promise<void> | undefined;
    return {
      app,
      url: url.replace('[::1]', '127.0.0.1'),
      keys,
      readModel,
      control: o.control,
      close: () => {
        closing ??= (async () => {
          await pruning?.stop();
          await app.close();
          await o.close();
          await readModel.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await readModel.close().catch(() => {});
    await o.close().catch(() => {});
    throw error;
  }
}

/** One prune of the read model now, then one a day (see `readModelRetentionDays`); a failed one is logged. */
function pruneDaily(
  readModel: Pick<PostgresReadModel, 'prune'>,
  days: number,
  app: Pick<FastifyInstance, 'log'>,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const once = () => {
    running = readModel.prune(days).then(
      (removed) => {
        if (removed.length > 0)
          app.log.info({ removed, retention_days: days }, 'read model: old jobs removed');
      },
      (error: unknown) => {
        app.log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'read model: pruning failed',
        );
      },
    );
    return running;
  };
  void once();
  const timer = setInterval(once, 24 * 60 * 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
