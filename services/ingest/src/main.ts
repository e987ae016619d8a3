/**
 * The ingest service as a standalone process: consumes the `ingest` queue — `job.requested`, and
 * the ingress bucket's S3 "Object Created" events (as `object.created`), each of which starts a
 * job with the settings below.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the fields below.
 */
import { DEFAULT_MAX_INVALID_RATE, ScopeSchema } from '@recon/contracts';
import { CommonEnvSchema, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { createIngestHandlers } from './app.ts';

const IngestEnvSchema = CommonEnvSchema.extend({
  /** The base relation in PostgreSQL for jobs started by a file drop. */
  RECON_BASE_RELATION: z.string().min(1).default('transacoes'),
  /** RULES §5 scope of those jobs. */
  RECON_SCOPE: ScopeSchema.default('date-window'),
  /** RULES §2 ErrorRate alert threshold. */
  RECON_MAX_INVALID_RATE: z.coerce.number().min(0).max(1).default(DEFAULT_MAX_INVALID_RATE),
  /** Shards per job; default: from the file size (~4 MiB per shard, at least 8). */
  RECON_SHARDS: z.coerce.number().int().min(1).max(4096).optional(),
  /** Size of a vendor chunk in bytes. */
  RECON_CHUNK_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 << 20),
});

const env = parseEnv(IngestEnvSchema, process.env);

runMain(() =>
  startService({
    service: 'ingest',
    env,
    defaultConcurrency: 1,
    // Ingest starts every job, and watches their deadlines: a job with no message in flight
    // still times out (RECON_DEADLINE_SWEEP_MS).
    sweepDeadlines: true,
    handlers: createIngestHandlers({
      baseRelation: env.RECON_BASE_RELATION,
      scope: env.RECON_SCOPE,
      maxInvalidRate: env.RECON_MAX_INVALID_RATE,
      chunkBytes: env.RECON_CHUNK_BYTES,
      ...(env.RECON_SHARDS === undefined ? {} : { shardCount: env.RECON_SHARDS }),
    }),
  }),
);
