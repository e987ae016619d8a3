import { appendFile, copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client, S3ObjectStore } from '@recon/adapters';
import { baseLoad } from '@recon/cli/base-load';
import { reconcile } from '@recon/cli/reconcile';
import {
  type Dropped,
  dropFile,
  type JobRow,
  readSummary,
  Stack,
  type StackOptions,
  waitForJob,
} from '@recon/cli/stack';
import type { JobSummary } from '@recon/contracts';
import { type GeneratedDay, generateDay } from '@recon/generator';
import { type ParquetRow, readParquet } from '../support/parquet.ts';

/** The day every distributed test reconciles: generated once per test file. */
export const REFERENCE_DATE = '2026-11-21';
export const SHARDS = 4;

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `recon-dist-${label}-`));
}

export async function generate(dir: string, rows = 20_000): Promise<GeneratedDay> {
  return generateDay({
    rows,
    tipo1Pct: 5,
    tipo2Pct: 3,
    tipo3Pct: 2,
    invalidPct: 1,
    duplicatePct: 1,
    historyRows: 2_000,
    seed: 7,
    referenceDate: REFERENCE_DATE,
    outDir: join(dir, 'day'),
  });
}

export async function loadBase(url: string, day: GeneratedDay): Promise<void> {
  const loaded = await baseLoad({
    file: day.basePath,
    url,
    relation: 'transacoes',
    mode: 'replace',
    quiet: true,
  });
  if (loaded.rejected.length > 0) throw new Error(`base rows rejected: ${loaded.rejected.length}`);
}

/** The embedded runtime's result for the same inputs (apps/cli/src/reconcile.ts). */
export async function embeddedRun(
  dir: string,
  day: GeneratedDay,
  url: string,
): Promise<{ summary: JobSummary; rows: ParquetRow[] }> {
  const { summary } = await reconcile({
    file: day.vendorPath,
    base: { kind: 'postgres', url, relation: 'transacoes' },
    out: join(dir, 'embedded-out'),
    scope: 'date-window',
    referenceDate: REFERENCE_DATE,
    shards: SHARDS,
    workers: 1,
  });
  if (summary.status !== 'SUCCEEDED') throw new Error(`embedded run ${summary.status}`);
  const { rows } = await readParquet(summary.outputs.divergences as string[]);
  return { summary, rows };
}

/** A stack for a test: a random emulator port, services logging to memory only. */
export async function startStack(dir: string, options: Partial<StackOptions> = {}): Promise<Stack> {
  const stack = new Stack({
    dir: join(dir, 'stack'),
    port: 0,
    matchers: 2,
    visibilityTimeoutSeconds: 10,
    maxReceiveCount: 5,
    ...options,
    env: {
      // RULES §7 backoff, fast for tests; attempts enough to ride out the PostgreSQL restart of
      // recovery.test.ts (job-control.test.ts sets the production 3 where it tests the limit).
      RECON_RETRY_DELAYS_MS: '1000,2000,4000,8000',
      RECON_RETRY_MAX_ATTEMPTS: '10',
      ...options.env,
    },
    serviceEnv: {
      ...options.serviceEnv,
      ingest: { RECON_SHARDS: String(SHARDS), ...options.serviceEnv?.ingest },
    },
  });
  await stack.start();
  return stack;
}

/**
 * The day's vendor file with `blankLines` blank lines appended: the same records (a blank line is
 * skipped, RULES §2), a different SHA-256 — a second file for the date as far as idempotency
 * (RULES §7) is concerned. Named `vendor-<tag>.csv`, so it lands beside the original in the
 * ingress bucket instead of replacing it.
 */
export async function distinctCopy(
  day: GeneratedDay,
  dir: string,
  tag: string,
  blankLines = 1,
): Promise<string> {
  const folder = join(dir, 'copies', tag);
  await mkdir(folder, { recursive: true });
  const path = join(folder, `vendor-${tag}.csv`);
  await copyFile(day.vendorPath, path);
  await appendFile(path, '\n'.repeat(blankLines));
  return path;
}

export async function dropAndWait(
  stack: Stack,
  day: GeneratedDay,
  timeoutMs = 60_000,
): Promise<{ dropped: Dropped; job: JobRow }> {
  const dropped = await dropFile(stack.state, day.vendorPath, REFERENCE_DATE);
  const job = await waitForJob(stack.databaseUrl, dropped, timeoutMs);
  return { dropped, job };
}

/** The job's Parquet files, downloaded from the store bucket and read back with DuckDB. */
export async function distributedRows(
  stack: Stack,
  jobId: string,
  dir: string,
): Promise<{ summary: JobSummary; rows: ParquetRow[]; jobIds: string[] }> {
  const summary = await readSummary(stack.state, jobId);
  const s3 = createS3Client({
    region: stack.state.region,
    endpoint: stack.state.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const store = new S3ObjectStore({ client: s3, bucket: stack.state.storeBucket });
    const keys = (await store.list(`divergencias/dt=${summary.reference_date}/`)).filter((k) =>
      k.includes(jobId),
    );
    const local = join(dir, 'downloaded', jobId);
    await mkdir(local, { recursive: true });
    const paths: string[] = [];
    for (const key of keys) {
      const path = join(local, key.split('/').pop()!);
      await writeFile(path, await store.get(key));
      paths.push(path);
    }
    if (paths.length === 0) throw new Error(`no Parquet for ${jobId} in the store bucket`);
    const { rows, jobIds } = await readParquet(paths.sort());
    return { summary, rows, jobIds };
  } finally {
    s3.destroy();
  }
}

/** The counts that must match between runtimes (times and ids differ). */
export function comparable(summary: JobSummary) {
  return {
    status: summary.status,
    total_lines: summary.total_lines,
    valid_lines: summary.valid_lines,
    invalid_lines: summary.invalid_lines,
    base_rows: summary.base_rows,
    matched: summary.matched,
    divergences: summary.divergences,
    by_severity: summary.by_severity,
    reference_date: summary.reference_date,
  };
}
