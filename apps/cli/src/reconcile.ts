import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LocalFolderStore } from '@recon/adapters/embedded';
import type { ReconLogLevel } from '@recon/adapters/logger';
import { createTracing, PrometheusMetrics, type TraceExporterKind } from '@recon/adapters/observability';
import {
  BARRIERS,
  type JobRecord,
  type JobRequested,
  ReconError,
  type Scope,
  type VendorChunkUnit,
} from '@recon/contracts';
import { defaultShardCount, isValidJobId, nextJobId, resolveReferenceDate } from '@recon/ingest';
import type { NotifierConfigInput } from '@recon/notifier';
import { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from './embedded/options.ts';
import { EmbeddedRuntime, type JobOutcome } from './embedded/runtime.ts';

export type BaseParam = { kind: 'csv'; path: string } | { kind: 'postgres'; url: string; relation: string };

/** What a progress display shows while a job runs. */
export interface JobTick {
  job: JobRecord;
  /** Vendor lines partitioned so far. */
  lines: number;
  shardsDone: number;
  shardCount: number;
}

export interface ReconcileParams {
  file: string;
  out: string;
  base: BaseParam;
  scope: Scope;
  referenceDate?: string;
  jobId?: string;
  shards?: number;
  /** Vendor chunk size in bytes (default 8 MiB). */
  chunkBytes?: number;
  workers?: number;
  maxInvalidRate?: number;
  /** A fixed clock (ISO) for reproducible outputs, tests and benchmarks. */
  fixedNow?: string;
  keepWork?: boolean;
  logLevel?: ReconLogLevel;
  logDestination?: (line: string) => void;
  notifier?: NotifierConfigInput;
  traceExporter?: TraceExporterKind;
  options?: ServiceOptions;
  /** Called a few times a second with the job's state while it runs. */
  onTick?: (tick: JobTick) => void;
}

/** Runs one job on the embedded runtime: every service in this process, outputs under `out`. */
export async function reconcile(p: ReconcileParams): Promise<JobOutcome> {
  const file = resolve(p.file);
  const fileSize = await sizeOf(file, '--file');
  const baseSize = p.base.kind === 'csv' ? await sizeOf(resolve(p.base.path), '--base-csv') : 0;
  const startedAt = p.fixedNow === undefined ? new Date() : new Date(p.fixedNow);
  const out = resolve(p.out);
  const store = new LocalFolderStore(out);
  if (p.jobId !== undefined && !isValidJobId(p.jobId)) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `--job-id ${JSON.stringify(p.jobId)} must look like JOB-YYYYMMDD-NNNNNN`,
    );
  }
  const jobId = p.jobId ?? (await nextJobId(store, startedAt));
  if ((await store.size(`jobs/${jobId}/summary.json`)) !== null) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `job ${jobId} already exists in ${out}; choose another --job-id or --out`,
    );
  }
  const request: JobRequested = {
    jobId,
    file: { key: ingressKey(file) },
    base:
      p.base.kind === 'csv'
        ? { kind: 'csv', key: ingressKey(resolve(p.base.path)) }
        : { kind: 'postgres', relation: p.base.relation },
    scope: p.scope,
    referenceDate: resolveReferenceDate(file, p.referenceDate, startedAt),
    arrivedAt: startedAt.toISOString(),
    maxInvalidRate: p.maxInvalidRate ?? 0.05,
    shardCount: p.shards ?? defaultShardCount(fileSize, baseSize),
    chunkBytes: p.chunkBytes ?? 8 << 20,
    // A database base is read in one slice per worker, in parallel.
    baseSlices: p.base.kind === 'postgres' ? Math.max(1, p.workers ?? availableParallelism()) : 1,
  };
  const options = p.options ?? DEFAULT_SERVICE_OPTIONS;
  const metrics = new PrometheusMetrics();
  const runtime = new EmbeddedRuntime({
    ports: {
      storeRoot: out,
      ingressRoot: '/',
      databaseUrl: p.base.kind === 'postgres' ? p.base.url : null,
      fixedNow: p.fixedNow ?? null,
    },
    workers: p.workers,
    logLevel: p.logLevel ?? 'silent',
    ...(p.logDestination === undefined ? {} : { logDestination: p.logDestination }),
    ...(p.notifier === undefined ? {} : { notifier: p.notifier }),
    metrics,
    tracing: createTracing({ exporter: p.traceExporter ?? 'off' }),
    options: {
      ...options,
      reporter: { ...options.reporter, keepWork: p.keepWork ?? options.reporter.keepWork },
    },
  });
  const ticker =
    p.onTick === undefined
      ? null
      : setInterval(() => {
          void tick(runtime, jobId).then((t) => t && p.onTick?.(t));
        }, 100);
  try {
    const outcome = await runtime.run(request);
    // A one-shot run leaves its metrics where a Prometheus textfile collector picks them up.
    if (outcome.summary.status === 'SUCCEEDED') {
      const key = `jobs/${jobId}/metrics.prom`;
      await store.put(key, await metrics.text());
      outcome.summary.outputs.metrics = store.uri(key);
    }
    return outcome;
  } finally {
    if (ticker !== null) clearInterval(ticker);
    await runtime.close();
  }
}

async function tick(runtime: EmbeddedRuntime, jobId: string): Promise<JobTick | undefined> {
  const job = await runtime.jobs.getJob(jobId);
  if (job === undefined) return undefined;
  const chunks = await runtime.jobs.listUnits<VendorChunkUnit>(jobId, BARRIERS.vendorChunks);
  const shards = await runtime.jobs.listUnits(jobId, BARRIERS.shards);
  return {
    job,
    lines: chunks.reduce((n, c) => n + c.data.records, 0),
    shardsDone: shards.length,
    shardCount: job.request.shardCount,
  };
}

/** Local files are keys of an ingress store rooted at `/`. */
function ingressKey(absolutePath: string): string {
  return absolutePath.replace(/^\/+/, '');
}

async function sizeOf(path: string, option: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
    return s.size;
  } catch {
    throw new ReconError('FILE_NOT_FOUND', `${option} ${path}: no such file`);
  }
}
