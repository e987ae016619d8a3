import type { Severidade, TipoDivergencia } from './divergence.ts';
import type { Side } from './events.ts';

/**
 * A vendor file's key in the ingress store: `YYYY-MM-DD/<file>.csv`, one level, `.csv` in any case.
 * What ingest takes as a delivery (anything else in the bucket is not ours), what the missing-
 * delivery check counts as one, and what the AWS event rule sends on (its suffix ignores case).
 */
export function isVendorFileKey(key: string): boolean {
  return VENDOR_FILE_KEY.test(key);
}

const VENDOR_FILE_KEY = /^\d{4}-\d{2}-\d{2}\/[^/]+\.csv$/i;

/** Object keys of a job: deterministic, so a redelivered message rewrites the same objects. */
const pad = (n: number, width: number) => String(n).padStart(width, '0');
export const keys = {
  work: (jobId: string) => `work/${jobId}/`,
  chunk: (jobId: string, side: Side, index: number) => `work/${jobId}/chunks/${side}-${pad(index, 5)}.csv`,
  part: (jobId: string, side: Side, index: number) => `work/${jobId}/parts/${side}-${pad(index, 5)}.bin`,
  basePart: (jobId: string, slice: number, index: number) =>
    `work/${jobId}/parts/base-${pad(slice, 2)}-${pad(index, 5)}.bin`,
  rejects: (jobId: string, side: Side, index: number) =>
    `work/${jobId}/rejects/${side}-${pad(index, 5)}.json`,
  /** A matcher's result (binary, format RSR2: services/reporter/src/shard-result.ts). */
  shardResult: (jobId: string, shard: number) => `work/${jobId}/results/shard-${pad(shard, 4)}.rsr`,
  summary: (jobId: string) => `jobs/${jobId}/summary.json`,
  rejectsCsv: (jobId: string) => `jobs/${jobId}/rejeitados.csv`,
  baseRejectsCsv: (jobId: string) => `jobs/${jobId}/rejeitados_base.csv`,
  divergences: (referenceDate: string, jobId: string, part: number, parts: number) =>
    `divergencias/dt=${referenceDate}/${jobId}${parts > 1 ? `-part-${part}` : ''}.parquet`,
};

/** How many slices the base is read in (each one unit of the base barrier). */
export function baseSliceCount(req: { baseSlices?: number | undefined }): number {
  return req.baseSlices ?? 1;
}

/** Barrier names of the job store (fan-in points). */
export const BARRIERS = {
  vendorChunks: 'vendor-chunks',
  base: 'base',
  partition: 'partition',
  shards: 'shards',
  /** The Parquet files of a report written in parts (`report.part-requested`). */
  reportParts: 'report-parts',
} as const;

/**
 * A part object: shard `s` occupies bytes [offsets[s], offsets[s+1]). With `buckets` (b > 1), each
 * shard's lines are in b buckets (`ShardWriter`), side by side: bucket `k` of shard `s` occupies
 * bytes [offsets[s·b + k], offsets[s·b + k + 1]), and shard `s` the bytes [offsets[s·b],
 * offsets[(s+1)·b]).
 */
export interface PartInfo {
  key: string;
  offsets: number[];
  /** Buckets per shard (a power of two); absent: 1. */
  buckets?: number;
}

export interface VendorChunkUnit {
  index: number;
  /** The chunk object (raw records) and the physical line its first record starts on. */
  chunkKey: string;
  firstLine: number;
  part: PartInfo;
  records: number;
  valid: number;
  invalid: number;
  rejectsKey: string | null;
  minData: string | null;
  maxData: string | null;
}

export interface BaseUnit {
  parts: PartInfo[];
  rows: number;
  invalid: number;
  rejectsKey: string | null;
  /** The slice read the window only; the orders it missed are looked up by the matchers. */
  lookupMissing?: boolean;
}

export interface ShardCounts {
  /** Vendor records reconciled (valid and first of their ordem_id). */
  vendorValid: number;
  vendorDuplicates: number;
  /** Base rows in scope (RULES §5). */
  baseInScope: number;
  baseDuplicates: number;
  matched: number;
  divergentOrders: number;
  distinctOrders: number;
  rows: number;
  byType: Record<TipoDivergencia, number>;
  bySeverity: Record<Severidade, number>;
  bySupplier: Record<string, number>;
}

export interface ShardUnit {
  shard: number;
  resultKey: string;
  counts: ShardCounts;
}
