import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LocalFolderStore } from '@recon/adapters/embedded';
import type { ReconLogLevel } from '@recon/adapters/logger';
import { createTracing, PrometheusMetrics, type TraceExporterKind } from '@recon/adapters/observability';
import {
  BARRIERS,
  DEFAULT_MAX_INVALID_RATE,
  type JobRecord,
  type JobRequested,
  type JobStore,
  type JobSummary,
  keys,
  ReconError,
  type Scope,
  type VendorChunkUnit,
} from '@recon/contracts';
import {
  csvBaseSliceCount,
  defaultShardBuckets,
  defaultShardCount,
  isValidJobId,
  nextJobId,
  resolveReferenceDate,
} from '@recon/ingest';
import type { DeliveryCounter, NotifierConfigInput } from '@recon/notifier';
import { type Checkpoint, checkpointKey, readCheckpoint } from './embedded/checkpoint.ts';
import type { ProcessPorts } from './embedded/context.ts';
import { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from './embedded/options.ts';
import {
  DEFAULT_DEADLINE_MS,
  type EmbeddedConfig,
  EmbeddedRuntime,
  type JobOutcome,
  type RetryPolicy,
} from './embedded/runtime.ts';
import { DateLock, findSucceededJob, sha256File } from './job-control.ts';

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
  /** Buckets per shard (a power of two up to 64; default: `defaultShardBuckets`). */
  shardBuckets?: number;
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
  /** Also counts the notifier's delivery outcomes (`recon serve`: its `/metrics` registry). */
  notificationCounter?: DeliveryCounter;
  traceExporter?: TraceExporterKind;
  options?: ServiceOptions;
  /** Called a few times a second with the job's state while it runs. */
  onTick?: (tick: JobTick) => void;
  /**
   * Milliseconds after the file arrived (`arrivedAt`, the job's start) when the job times out
   * (default 20 minutes). With `fixedNow` it counts from the real start of the run.
   */
  deadlineMs?: number;
  /** Retries of transient failures (default 30 s, 1 min, 2 min, 4 min; at most 3 attempts per step). */
  retry?: RetryPolicy;
  /** TEST ONLY: injected transient object-store failures (see ProcessPorts.testPutFaults). */
  testPutFaults?: ProcessPorts['testPutFaults'];
  /** TEST ONLY: how the worker threads start (see EmbeddedConfig.testWorkerBoot). */
  testWorkerBoot?: EmbeddedConfig['testWorkerBoot'];
  /** The job store (default: in memory). `recon serve` passes its PostgreSQL store. */
  jobStore?: JobStore;
  /** PostgreSQL of the read model: the reporter loads the job there (`recon serve`). */
  readModelUrl?: string;
  /**
   * Called once the job is accepted: its date lock taken, its runtime started and its record in
   * the job store (a new job RECEIVED; a reprocessed one open again, its pending work sent). What
   * fails before this (a date another process is reconciling, a missing file) rejects the call
   * without it. `recon serve` answers the request here, and cancels through the runtime.
   */
  onRuntime?: (runtime: EmbeddedRuntime, jobId: string) => void;
}

/** What `recon run` does with a file: reconcile it, or point at the job that already did. */
export type RunResult =
  | { kind: 'reconciled'; outcome: JobOutcome }
  | { kind: 'already-reconciled'; sha256: string; summary: JobSummary };

/**
 * Idempotency (RULES §7): a file whose SHA-256 already has a SUCCEEDED job in `out` is not
 * reconciled again — unless `force` (the runbook's force_reprocess). Costs one read of the file.
 */
export async function reconcileOnce(p: ReconcileParams & { force?: boolean }): Promise<RunResult> {
  if (p.force !== true) {
    const earlier = await alreadyReconciled(p.file, p.out);
    if (earlier !== undefined) return earlier;
  }
  return { kind: 'reconciled', outcome: await reconcile(p) };
}

/** The SUCCEEDED job of `out` that already reconciled this very file (same SHA-256), if any. */
export async function alreadyReconciled(
  path: string,
  outDir: string,
): Promise<Extract<RunResult, { kind: 'already-reconciled' }> | undefined> {
  const file = resolve(path);
  await sizeOf(file, '--file');
  const sha256 = await sha256File(file);
  const summary = await findSucceededJob(resolve(outDir), sha256);
  return summary === undefined ? undefined : { kind: 'already-reconciled', sha256, summary };
}

/** The PostgreSQL the services read the base from (none for a CSV snapshot). */
function databaseUrlOf(base: BaseParam): string | null {
  return base.kind === 'postgres' ? base.url : null;
}

/** A runtime that several `reconcile` calls share (see `openRuntime`). */
export interface SharedRuntime {
  runtime: EmbeddedRuntime;
  /** The `out` (resolved) and database URL it was opened for: every job on it must use them. */
  out: string;
  databaseUrl: string | null;
}

/**
 * A runtime whose worker threads outlive one job, for several `reconcile` calls with the same
 * `out`, base and settings (the first call's `p`). The jobs after the first find the workers'
 * code loaded, compiled and optimized: on the 1M-line day a job then takes about 0.6 s less (see
 * `pnpm bench`, "warm"). Its Prometheus metrics accumulate over its jobs. The caller closes it.
 */
export function openRuntime(p: ReconcileParams): SharedRuntime {
  const out = resolve(p.out);
  const databaseUrl = databaseUrlOf(p.base);
  return { runtime: embeddedRuntime(p, out, databaseUrl), out, databaseUrl };
}

/**
 * Runs one job on the embedded runtime: every service in this process, outputs under `out`; on a
 * runtime of its own (started and closed here), or on `shared` (opened for the same `out` and
 * base), which stays open.
 */
export async function reconcile(p: ReconcileParams, shared?: SharedRuntime): Promise<JobOutcome> {
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
  if ((await store.size(keys.summary(jobId))) !== null) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `job ${jobId} already exists in ${out}; choose another --job-id or --out`,
    );
  }
  const shardCount = p.shards ?? defaultShardCount(fileSize, baseSize);
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
    maxInvalidRate: p.maxInvalidRate ?? DEFAULT_MAX_INVALID_RATE,
    shardCount,
    shardBuckets: p.shardBuckets ?? defaultShardBuckets(fileSize, baseSize, shardCount),
    chunkBytes: p.chunkBytes ?? 8 << 20,
    // A database base is read in one slice per worker, a CSV snapshot in chunk-sized byte ranges.
    baseSlices:
      p.base.kind === 'postgres'
        ? Math.max(1, p.workers ?? availableParallelism())
        : csvBaseSliceCount(baseSize, p.chunkBytes ?? 8 << 20),
  };
  const databaseUrl = databaseUrlOf(p.base);
  if (shared !== undefined && (shared.out !== out || shared.databaseUrl !== databaseUrl)) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `the shared runtime was opened for ${shared.out} (database ${shared.databaseUrl ?? 'none'}), not for ${out} (database ${databaseUrl ?? 'none'})`,
    );
  }
  const lock = await DateLock.acquire(out, request.referenceDate, jobId);
  try {
    const runtime = shared?.runtime ?? embeddedRuntime(p, out, databaseUrl);
    return await runOn(
      runtime,
      store,
      jobId,
      p,
      () =>
        runtime.run(
          request,
          { ms: p.deadlineMs ?? DEFAULT_DEADLINE_MS, ...(p.fixedNow === undefined ? {} : { fromNow: true }) },
          // Accepted once recorded: whoever is then told of the job finds it.
          () => p.onRuntime?.(runtime, jobId),
        ),
      shared === undefined,
    );
  } finally {
    await lock.release();
  }
}

export interface ReprocessParams
  extends Pick<
    ReconcileParams,
    | 'out'
    | 'workers'
    | 'fixedNow'
    | 'keepWork'
    | 'logLevel'
    | 'logDestination'
    | 'notifier'
    | 'notificationCounter'
    | 'traceExporter'
    | 'options'
    | 'onTick'
    | 'deadlineMs'
    | 'retry'
    | 'testPutFaults'
    | 'testWorkerBoot'
    | 'jobStore'
    | 'readModelUrl'
    | 'onRuntime'
  > {
  jobId: string;
  /** Needed when the job's base is a PostgreSQL relation and its extraction is still pending. */
  databaseUrl?: string;
  /** The job's checkpoint when the caller already read it (`loadCheckpoint`); else read here. */
  checkpoint?: Checkpoint;
}

/**
 * The checkpoint `recon reprocess` resumes `jobId` from (`checkpoints/<job_id>/checkpoint.json`
 * under `out`), or a clear error: a malformed job id, no checkpoint, or one that cannot be read.
 */
export async function loadCheckpoint(out: string, jobId: string): Promise<Checkpoint> {
  if (!isValidJobId(jobId)) {
    throw new ReconError('INVALID_ARGUMENT', `${JSON.stringify(jobId)} must look like JOB-YYYYMMDD-NNNNNN`);
  }
  const store = new LocalFolderStore(resolve(out));
  let checkpoint: Checkpoint | undefined;
  try {
    checkpoint = await readCheckpoint(store, jobId);
  } catch (error) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `the checkpoint of ${jobId} (${store.uri(checkpointKey(jobId))}) cannot be read: ${error instanceof Error ? error.message : String(error)}; the job cannot resume from it: to run the whole file again use recon run --force`,
      { cause: error },
    );
  }
  if (checkpoint === undefined) {
    throw new ReconError(
      'FILE_NOT_FOUND',
      `no checkpoint for ${jobId} in ${resolve(out)} (expected ${checkpointKey(jobId)}); to run the whole file again use recon run --force`,
    );
  }
  return checkpoint;
}

/**
 * `recon reprocess`: resumes a job that stopped — TIMEOUT, CANCELLED, FAILED, or a process killed
 * mid-job (its last progress checkpoint, IN_PROGRESS) — from `checkpoints/<job_id>/checkpoint.json`,
 * redoing only what is pending. It gets a whole deadline of its own, counted from now. A job whose
 * process is still alive holds its date's lock: refused (JOB_RUNNING).
 */
export async function reprocess(p: ReprocessParams): Promise<JobOutcome> {
  const checkpoint = p.checkpoint ?? (await loadCheckpoint(p.out, p.jobId));
  const out = resolve(p.out);
  const store = new LocalFolderStore(out);
  const summaryKey = keys.summary(p.jobId);
  if ((await store.size(summaryKey)) !== null) {
    const previous = JSON.parse(Buffer.from(await store.get(summaryKey)).toString('utf8')) as JobSummary;
    if (previous.status === 'SUCCEEDED') {
      throw new ReconError('INVALID_ARGUMENT', `job ${p.jobId} already SUCCEEDED; nothing to reprocess`);
    }
  }
  const request = checkpoint.intermediate_data.request;
  const databaseUrl = request.base.kind === 'postgres' ? (p.databaseUrl ?? null) : null;
  const lock = await DateLock.acquire(out, request.referenceDate, p.jobId);
  try {
    const runtime = embeddedRuntime(p, out, databaseUrl);
    // Accepted once the job is open again (not at the runtime's start): whoever looks it up then
    // finds it running, not in the state it ended in.
    return await runOn(runtime, store, p.jobId, p, () =>
      runtime.resume(checkpoint, { ms: p.deadlineMs ?? DEFAULT_DEADLINE_MS, fromNow: true }, () =>
        p.onRuntime?.(runtime, p.jobId),
      ),
    );
  } finally {
    await lock.release();
  }
}

type RuntimeParams = Omit<ReprocessParams, 'jobId' | 'databaseUrl' | 'out'>;

function embeddedRuntime(p: RuntimeParams, out: string, databaseUrl: string | null): EmbeddedRuntime {
  const options = p.options ?? DEFAULT_SERVICE_OPTIONS;
  return new EmbeddedRuntime({
    ports: {
      storeRoot: out,
      ingressRoot: '/',
      databaseUrl,
      fixedNow: p.fixedNow ?? null,
      readModelUrl: p.readModelUrl ?? null,
      ...(p.testPutFaults === undefined ? {} : { testPutFaults: p.testPutFaults }),
    },
    ...(p.jobStore === undefined ? {} : { jobs: p.jobStore }),
    ...(p.retry === undefined ? {} : { retry: p.retry }),
    workers: p.workers,
    ...(p.testWorkerBoot === undefined ? {} : { testWorkerBoot: p.testWorkerBoot }),
    logLevel: p.logLevel ?? 'silent',
    ...(p.logDestination === undefined ? {} : { logDestination: p.logDestination }),
    ...(p.notifier === undefined ? {} : { notifier: p.notifier }),
    ...(p.notificationCounter === undefined ? {} : { notificationCounter: p.notificationCounter }),
    metrics: new PrometheusMetrics(),
    tracing: createTracing({ exporter: p.traceExporter ?? 'off' }),
    options: {
      ...options,
      reporter: { ...options.reporter, keepWork: p.keepWork ?? options.reporter.keepWork },
    },
  });
}

async function runOn(
  runtime: EmbeddedRuntime,
  store: LocalFolderStore,
  jobId: string,
  p: RuntimeParams,
  go: () => Promise<JobOutcome>,
  close = true,
): Promise<JobOutcome> {
  const ticker =
    p.onTick === undefined
      ? null
      : setInterval(() => {
          void tick(runtime, jobId).then((t) => t && p.onTick?.(t));
        }, 100);
  try {
    const outcome = await go();
    // A one-shot run leaves its metrics where a Prometheus textfile collector picks them up.
    if (outcome.summary.status === 'SUCCEEDED' && runtime.metrics !== undefined) {
      const key = `jobs/${jobId}/metrics.prom`;
      await store.put(key, await runtime.metrics.text());
      outcome.summary.outputs.metrics = store.uri(key);
    }
    return outcome;
  } finally {
    if (ticker !== null) clearInterval(ticker);
    if (close) await runtime.close();
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
