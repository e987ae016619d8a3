import { createHash } from 'node:crypto';
import { type JobRequested, type ObjectStore, ReconError } from '@recon/contracts';
import { isIsoDay } from '@recon/rules';

/**
 * RULES §6 reference date: given by the caller, else the date folder of the file's key
 * (`YYYY-MM-DD/…`), else the day before the job started (UTC).
 */
export function resolveReferenceDate(fileKey: string, given: string | undefined, startedAt: Date): string {
  if (given !== undefined) {
    if (!isIsoDay(given)) {
      throw new ReconError(
        'INVALID_ARGUMENT',
        `reference date ${JSON.stringify(given)} is not a date YYYY-MM-DD`,
      );
    }
    return given;
  }
  const folders = fileKey.split('/').slice(0, -1).reverse();
  const dated = folders.find(isIsoDay);
  if (dated !== undefined) return dated;
  const dayBefore = new Date(
    Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth(), startedAt.getUTCDate() - 1),
  );
  return dayBefore.toISOString().slice(0, 10);
}

/** SHA-256 (hex) of an object, in one streaming read: the file's identity for idempotency (RULES §7). */
export async function objectSha256(store: ObjectStore, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of store.getStream(key)) hash.update(chunk);
  return hash.digest('hex');
}

/** The next free `JOB-YYYYMMDD-NNNNNN` for the day the job starts, given the jobs already in the store. */
export async function nextJobId(store: ObjectStore, startedAt: Date): Promise<string> {
  const day = startedAt.toISOString().slice(0, 10).replaceAll('-', '');
  const prefix = `JOB-${day}-`;
  const existing = await store.list('jobs/');
  let max = 0;
  for (const key of existing) {
    const id = key.split('/')[1] ?? '';
    if (id.startsWith(prefix)) max = Math.max(max, Number(id.slice(prefix.length)) || 0);
  }
  return `${prefix}${String(max + 1).padStart(6, '0')}`;
}

export function isValidJobId(id: string): boolean {
  return /^JOB-\d{8}-\d{6}$/.test(id);
}

/**
 * Shards so that one shard of either side stays around ~4 MiB of input, at least 8: a shard's
 * orders then stay in cache while it is matched (measured: 32 shards match a 1M-line day ~15%
 * faster than 8), and memory per matcher stays small.
 */
export function defaultShardCount(vendorBytes: number, baseBytes: number): number {
  const bytes = Math.max(vendorBytes, baseBytes);
  let shards = 8;
  while (shards < 4096 && bytes / shards > 4 << 20) shards *= 2;
  return shards;
}

/**
 * Buckets per shard (`JobRequested.shardBuckets`) so that a bucket of either side holds about
 * 256 KiB of input or more: a shard's lines are matched a bucket at a time, on tables and lines
 * that stay in the cache. On the 1M-line day (32 shards of ~2.3 MB) that is 8 buckets, and
 * matching took ~22% less time in one thread (`bench/micro.ts --phase match`, 32 shards, warm);
 * a small day keeps one bucket per shard.
 */
export function defaultShardBuckets(vendorBytes: number, baseBytes: number, shardCount: number): number {
  const perShard = Math.max(vendorBytes, baseBytes) / Math.max(1, shardCount);
  let buckets = 1;
  while (buckets < 64 && perShard / (2 * buckets) >= 256 << 10) buckets *= 2;
  return buckets;
}

/**
 * A CSV base snapshot is read in byte ranges of about `chunkBytes` (the vendor file's chunk size):
 * every worker shares it as they share the vendor file's chunks, and memory stays bounded by the
 * chunk size, not the snapshot's.
 */
export function csvBaseSliceCount(baseBytes: number, chunkBytes: number): number {
  return Math.min(4096, Math.max(1, Math.ceil(baseBytes / chunkBytes)));
}

export type { JobRequested };
