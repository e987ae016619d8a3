import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createPostgresJobStore } from '@recon/adapters';
import { LocalFolderStore } from '@recon/adapters/embedded';
import { PrometheusMetrics, recordJobMetrics } from '@recon/adapters/observability';
import { ApiKeyStore, PostgresReadModel } from '@recon/adapters/read-model';
import { buildAdminApp, SessionTokens } from '@recon/admin';
import { registerDashboard } from '@recon/admin/dashboard';
import type { JobSummary, Scope } from '@recon/contracts';
import type { FastifyInstance } from 'fastify';
import type { BaseParam, ReconcileParams } from '../reconcile.ts';
import { EmbeddedJobControl } from './control.ts';

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
  runSettings?: Partial<ReconcileParams>;
  onJobEnd?: (jobId: string, error: unknown) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port` once listening. */
  url: string;
  keys: ApiKeyStore;
  readModel: PostgresReadModel;
  control: EmbeddedJobControl;
  close(): Promise<void>;
}

/**
 * `recon serve` on one machine: the admin API and dashboard over the embedded runtime, with the
 * job store and the read model in PostgreSQL (so jobs and their divergences outlive the process).
 */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const out = resolve(o.out);
  const ingressRoot = resolve(o.ingress ?? join(out, 'ingress'));
  await mkdir(ingressRoot, { recursive: true });
  const store = new LocalFolderStore(out);
  const ingress = new LocalFolderStore(ingressRoot);
  const jobStore = await createPostgresJobStore(o.databaseUrl);
  const readModel = new PostgresReadModel(o.databaseUrl);
  await readModel.migrate();
  const keys = new ApiKeyStore(readModel);
  const sessions = new SessionTokens(await keys.secret('session-hmac'));
  const metrics = new PrometheusMetrics();
  const control = new EmbeddedJobControl({
    out,
    ingressRoot,
    store,
    jobs: jobStore.store,
    base: o.base,
    scope: o.scope ?? 'date-window',
    readModelUrl: o.databaseUrl,
    ...(o.runSettings === undefined ? {} : { runSettings: o.runSettings }),
    onJobEnd: (jobId, error) => {
      void jobStore.store.getJob(jobId).then((job) => {
        const summary = job?.facts.summary as JobSummary | undefined;
        if (summary !== undefined) recordJobMetrics(summary, [metrics]);
      });
      o.onJobEnd?.(jobId, error);
    },
  });
  const app = await buildAdminApp(
    {
      readModel,
      keys,
      jobs: jobStore.store,
      store,
      ingress,
      control,
      sessions,
      metrics: () => metrics.text(),
      dashboard: registerDashboard,
    },
    {
      ...(o.uploadLimitBytes === undefined ? {} : { uploadLimitBytes: o.uploadLimitBytes }),
      ...(o.rateLimit === undefined ? {} : { rateLimit: o.rateLimit }),
      ...(o.secureCookies === undefined ? {} : { secureCookies: o.secureCookies }),
    },
  );
  const url = await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: url.replace('[::1]', '127.0.0.1'),
    keys,
    readModel,
    control,
    close: () => {
      closing ??= (async () => {
        await app.close();
        await control.idle();
        await readModel.close();
        await jobStore.close();
      })();
      return closing;
    },
  };
}
