import { z } from 'zod';

/**
 * Events between services. Every message is an envelope (type, schemaVersion, id, metadata) around
 * a typed payload, validated with zod when it leaves a producer and when it reaches a consumer.
 * Messages carry references to objects (claim check), never bulk data.
 */
export const SCHEMA_VERSION = 1;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const jobId = z.string().regex(/^JOB-\d{8}-\d{6}$/, 'expected JOB-YYYYMMDD-NNNNNN');

export const ScopeSchema = z.enum(['date-window', 'all']);
export type Scope = z.infer<typeof ScopeSchema>;

export const BaseSourceSchema = z.discriminatedUnion('kind', [
  /** A CSV snapshot of the base, in the ingress store. */
  z.object({ kind: z.literal('csv'), key: z.string().min(1) }),
  /** A PostgreSQL relation; the connection comes from the service's config, never from a message. */
  z.object({ kind: z.literal('postgres'), relation: z.string().min(1) }),
]);
export type BaseSource = z.infer<typeof BaseSourceSchema>;

/** A slice of an object: bytes [start, end) of `key`. */
export const PartRefSchema = z.object({
  key: z.string(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  /**
   * The slice's lines in buckets (`PartInfo.buckets`): the byte length of each, in order (they add
   * up to `end - start`). Absent: one bucket.
   */
  buckets: z.array(z.number().int().nonnegative()).min(1).max(64).optional(),
});
export type PartRef = z.infer<typeof PartRefSchema>;

/** Buckets per shard (`JobRequested.shardBuckets`): a power of two, at most 64. */
export const ShardBucketsSchema = z
  .number()
  .int()
  .min(1)
  .max(64)
  .refine((n) => (n & (n - 1)) === 0, 'expected a power of two');

export const SideSchema = z.enum(['vendor', 'base']);
export type Side = z.infer<typeof SideSchema>;

export const DateWindowSchema = z.object({ from: isoDate, to: isoDate });
export type DateWindow = z.infer<typeof DateWindowSchema>;

/** RULES §2: the share of invalid lines above which the ErrorRate alert is raised, by default. */
export const DEFAULT_MAX_INVALID_RATE = 0.05;

export const JobRequestedSchema = z.object({
  jobId,
  /** The vendor file in the ingress store. */
  file: z.object({ key: z.string().min(1) }),
  base: BaseSourceSchema,
  scope: ScopeSchema,
  referenceDate: isoDate,
  /** When the file arrived (ISO timestamp): the deadline counts from here. */
  arrivedAt: z.string(),
  /** RULES §2: above this share of invalid lines the ErrorRate alert is raised. */
  maxInvalidRate: z.number().min(0).max(1),
  /** Number of shards; both sides must use the same. */
  shardCount: z.number().int().min(1).max(4096),
  /**
   * Each shard's lines are kept in this many buckets of their parts (by the order's hash), which
   * the matcher matches one at a time on tables that stay in the cache. Absent: 1.
   */
  shardBuckets: ShardBucketsSchema.optional(),
  /** Target size of a vendor/base chunk in bytes. */
  chunkBytes: z.number().int().min(1024),
  /**
   * The base is read in this many disjoint slices, in parallel: a database base one COPY each, a
   * CSV snapshot one byte range of whole records each (see `BaseExtractRequested.range`). Default 1.
   */
  baseSlices: z.number().int().min(1).max(4096).optional(),
  /**
   * SHA-256 of the vendor file (hex), when the requester already knows it (a file drop hashes the
   * file before requesting its job): the job store finds the file's jobs by it (idempotency).
   */
  fileSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256')
    .optional(),
});
export type JobRequested = z.infer<typeof JobRequestedSchema>;

export const ChunkWrittenSchema = z.object({
  jobId,
  side: SideSchema,
  index: z.number().int().nonnegative(),
  key: z.string(),
  /** Physical line number (header = 1) where the chunk's first record starts. */
  firstLine: z.number().int().positive(),
  /** For each canonical column (COLUMNS order), its position in the file's header. */
  columnOrder: z.array(z.number().int().nonnegative()).length(6),
  shardCount: z.number().int().positive(),
  /** `JobRequested.shardBuckets`. */
  shardBuckets: ShardBucketsSchema.optional(),
});
export type ChunkWritten = z.infer<typeof ChunkWrittenSchema>;

/** Slice `index` of `count` disjoint slices of the base. */
export const BaseSliceSchema = z
  .object({ index: z.number().int().nonnegative(), count: z.number().int().positive() })
  .refine((s) => s.index < s.count, 'slice index must be below the slice count');
export type BaseSlice = z.infer<typeof BaseSliceSchema>;

export const BaseExtractRequestedSchema = z.object({
  jobId,
  source: BaseSourceSchema,
  slice: BaseSliceSchema,
  scope: ScopeSchema,
  window: DateWindowSchema.nullable(),
  shardCount: z.number().int().positive(),
  /** `JobRequested.shardBuckets`. */
  shardBuckets: ShardBucketsSchema.optional(),
  /** Vendor shard slices whose `ordem_id`s this base slice must bring even out of the window. */
  vendorParts: z.array(PartRefSchema),
  /**
   * A database base in `date-window` scope whose orders can be looked up by id: this slice reads
   * the window only (`vendorParts` is empty); each matcher looks up the orders its shard's window
   * lacks. Absent: false.
   */
  lookupMissing: z.boolean().optional(),
  /**
   * A CSV snapshot in several slices: this slice's bytes [start, end) of the file, whole records,
   * the first on physical line `firstLine`, the columns in the header's `columnOrder`. Absent on
   * the one request that splits the file (it reads it once, checking header, UTF-8 and quotes,
   * and publishes every slice with its range) and whenever the base is read in one slice.
   */
  range: z
    .object({
      start: z.number().int().nonnegative(),
      end: z.number().int().nonnegative(),
      firstLine: z.number().int().positive(),
      columnOrder: z.array(z.number().int().nonnegative()).length(6),
    })
    .optional(),
});
export type BaseExtractRequested = z.infer<typeof BaseExtractRequestedSchema>;

/** A side (all vendor chunks, or the base) is fully partitioned. */
export const PartitionSideCompletedSchema = z.object({ jobId, side: SideSchema });
export type PartitionSideCompleted = z.infer<typeof PartitionSideCompletedSchema>;

export const ShardReadySchema = z.object({
  jobId,
  shard: z.number().int().nonnegative(),
  shardCount: z.number().int().positive(),
  scope: ScopeSchema,
  /** The vendor file's date window (RULES §5); null when the file has no valid line. */
  window: DateWindowSchema.nullable(),
  vendorParts: z.array(PartRefSchema),
  baseParts: z.array(PartRefSchema),
  /**
   * The base slices hold only the window: vendor orders they lack are looked up by id in the
   * job's base relation (out of the window) before they are called TIPO_1. Absent: false.
   */
  lookupMissing: z.boolean().optional(),
});
export type ShardReady = z.infer<typeof ShardReadySchema>;

export const MatchingCompletedSchema = z.object({ jobId });
export type MatchingCompleted = z.infer<typeof MatchingCompletedSchema>;

/**
 * The reporter writes the job's Parquet in `parts` files (rows split evenly, in the output order)
 * and asks for part `part` to be written by whichever reporter is free: the report's CPU-bound
 * encoding then runs on several cores at once. The last part written finishes the report.
 */
export const ReportPartRequestedSchema = z.object({
  jobId,
  part: z.number().int().min(1),
  parts: z.number().int().min(2),
});
export type ReportPartRequested = z.infer<typeof ReportPartRequestedSchema>;

export const JobSucceededSchema = z.object({
  jobId,
  referenceDate: isoDate,
  summaryKey: z.string(),
  totalLines: z.number().int().nonnegative(),
  divergences: z.number().int().nonnegative(),
  divergenceRate: z.number(),
  durationSeconds: z.number(),
});
export type JobSucceeded = z.infer<typeof JobSucceededSchema>;

export const JobFailedSchema = z.object({
  jobId,
  /** CANCELLED: stopped by an operator (`EmbeddedRuntime.cancel`, the admin API). */
  status: z.enum(['FAILED', 'TIMEOUT', 'CANCELLED']),
  stage: z.string(),
  code: z.string(),
  message: z.string(),
  /** Object-store key of the job's checkpoint (`checkpoints/<job_id>/checkpoint.json`), when one was written. */
  checkpointKey: z.string().optional(),
});
export type JobFailed = z.infer<typeof JobFailedSchema>;

export const AlertRaisedSchema = z.object({
  jobId,
  alert: z.enum(['PROCESSING_TIME', 'ERROR_RATE', 'DIVERGENCE_RATE']),
  severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']),
  message: z.string(),
  value: z.number(),
  threshold: z.number(),
});
export type AlertRaised = z.infer<typeof AlertRaisedSchema>;

/**
 * The runbook's daily check (§1.1): no vendor file for `referenceDate` (D-1) had arrived by the
 * configured time. It belongs to no job (there is none): the notifier announces it once per date
 * (the event id is `delivery.missing:<date>`).
 */
export const DeliveryMissingSchema = z.object({
  referenceDate: isoDate,
  /** When the check ran (ISO). */
  checkedAt: z.string(),
  /** The configured time the file should have arrived by, as configured (e.g. `09:00`). */
  expectedBy: z.string(),
  timeZone: z.string(),
  /** Where the file was looked for (an s3:// prefix, a folder). */
  lookedIn: z.array(z.string()),
  severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']),
});
export type DeliveryMissing = z.infer<typeof DeliveryMissingSchema>;

/**
 * A vendor file landed in the ingress bucket: the S3 "Object Created" event as EventBridge delivers
 * it (`source: aws.s3`), reduced to what ingest needs. The SQS adapter turns the raw EventBridge
 * event into this envelope; nothing in recon publishes it. It has no job yet: ingest creates one.
 */
export const ObjectCreatedSchema = z.object({
  bucket: z.string().min(1),
  /** `YYYY-MM-DD/<file>.csv`: the date folder is the reference date. */
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  etag: z.string().optional(),
  /** S3's per-object ordering token: distinguishes two uploads of the same key. */
  sequencer: z.string().optional(),
  /** The EventBridge event id. */
  eventId: z.string().min(1),
  /** When the object was created (the event's `time`): the file's arrival time. */
  time: z.string(),
});
export type ObjectCreated = z.infer<typeof ObjectCreatedSchema>;

/** Every event type and its payload schema: the one list producers and consumers share. */
export const EVENT_SCHEMAS = {
  'object.created': ObjectCreatedSchema,
  'job.requested': JobRequestedSchema,
  'chunk.written': ChunkWrittenSchema,
  'base.extract-requested': BaseExtractRequestedSchema,
  'partition.side-completed': PartitionSideCompletedSchema,
  'shard.ready': ShardReadySchema,
  'matching.completed': MatchingCompletedSchema,
  'report.part-requested': ReportPartRequestedSchema,
  'job.succeeded': JobSucceededSchema,
  'job.failed': JobFailedSchema,
  'alert.raised': AlertRaisedSchema,
  'delivery.missing': DeliveryMissingSchema,
} as const;
export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;

/**
 * The envelope's correlation id: the job id, or for an event that precedes its job (a file that
 * just landed) the object it is about.
 */
export function correlationIdOf(payload: unknown): string {
  const p = payload as { jobId?: unknown; bucket?: unknown; key?: unknown; referenceDate?: unknown };
  if (typeof p.jobId === 'string') return p.jobId;
  if (p.bucket === undefined && typeof p.referenceDate === 'string') return `delivery:${p.referenceDate}`;
  return `${String(p.bucket)}/${String(p.key)}`;
}

/** The job an event belongs to, when it belongs to one. */
export function jobIdOf(envelope: { payload: unknown }): string | undefined {
  const jobId = (envelope.payload as { jobId?: unknown } | null)?.jobId;
  return typeof jobId === 'string' ? jobId : undefined;
}

export const EnvelopeSchema = z.object({
  /** Deterministic for a given fact, so a redelivered or re-published event is recognisable. */
  id: z.string().min(1),
  type: z.enum(Object.keys(EVENT_SCHEMAS) as [EventType, ...EventType[]]),
  schemaVersion: z.literal(SCHEMA_VERSION),
  occurredAt: z.string(),
  producedBy: z.string(),
  /** The job id: every log line and message of a job carries it. */
  correlationId: z.string(),
  payload: z.unknown(),
});

export interface Envelope<T extends EventType = EventType> {
  id: string;
  type: T;
  schemaVersion: typeof SCHEMA_VERSION;
  occurredAt: string;
  producedBy: string;
  correlationId: string;
  payload: EventPayload<T>;
}
