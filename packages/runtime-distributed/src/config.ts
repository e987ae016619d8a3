import { ReconError } from '@recon/contracts';
import { z } from 'zod';

/** A boolean from the environment: `1`/`true`/`yes` are true, anything else (or unset) false. */
export const envFlag = z
  .string()
  .optional()
  .transform((v) => v !== undefined && /^(1|true|yes)$/i.test(v.trim()));

/**
 * The environment every service reads (each service's `main` extends it with its own fields).
 * Credentials are not here: the AWS SDK takes them from its default chain (the Fargate task role;
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY against the local emulator).
 */
export const CommonEnvSchema = z.object({
  /** AWS region of the queues, buckets and event bus. */
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** An SQS/S3-compatible endpoint (fauxqs locally); unset on AWS. */
  AWS_ENDPOINT_URL: z.string().url().optional(),
  /** Queues are named `<prefix><service>` (and `<prefix><service>-dlq`). */
  RECON_QUEUE_PREFIX: z.string().default('recon-'),
  /** This service's queue URL; default: looked up by name (`<prefix><service>`). */
  RECON_QUEUE_URL: z.string().url().optional(),
  /** Publish through this EventBridge bus (AWS); unset: straight to the routed SQS queues (local). */
  RECON_EVENT_BUS_NAME: z.string().min(1).optional(),
  /** Bucket of the job's objects (chunks, parts, results, Parquet, summaries). */
  RECON_STORE_BUCKET: z.string().min(3),
  /** Key prefix inside the store bucket (e.g. `recon/`). */
  RECON_STORE_PREFIX: z.string().default(''),
  /** Bucket of the intermediate objects (`work/`: chunks, parts, shard results); default the store bucket. */
  RECON_WORK_BUCKET: z.string().min(3).optional(),
  /** Bucket of the checkpoints (`checkpoints/`); default the store bucket. */
  RECON_CHECKPOINT_BUCKET: z.string().min(3).optional(),
  /** Bucket where vendor files arrive (`YYYY-MM-DD/<file>.csv`). */
  RECON_INGRESS_BUCKET: z.string().min(3),
  /** PostgreSQL of the job store (RDS on AWS). Migrated on start. */
  DATABASE_URL: z.string().url(),
  /** Connections of the job store's pool in this process. */
  RECON_PG_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  /** Messages handled at once by this process (default per service). */
  RECON_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** Visibility timeout asked on receive, extended while a handler runs (heartbeat at half of it). */
  RECON_VISIBILITY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(43_200).default(30),
  /** Long-poll wait of each receive (0–20 s). */
  RECON_WAIT_TIME_SECONDS: z.coerce.number().int().min(0).max(20).default(20),
  /** Receives before SQS dead-letters a message; default: read from the queue's RedrivePolicy. */
  RECON_MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).max(1000).optional(),
  /** Seconds before a message that does not match its schema is received again (0: to the DLQ at once). */
  RECON_INVALID_RETRY_DELAY_SECONDS: z.coerce.number().int().min(0).max(43_200).default(0),
  /** How long SIGTERM waits for running handlers before leaving their messages to redelivery. */
  RECON_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** Structured JSON logs on stderr. */
  RECON_LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
  /** A fixed "now" (ISO) for reproducible outputs (tests, benchmarks); unset: the system clock. */
  RECON_FIXED_NOW: z.string().datetime({ offset: true }).optional(),
  /**
   * RULES §7: a job's deadline, milliseconds after its file arrived (default 20 minutes). Every
   * handler checks it before working (and times the job out past it); a reprocess sets its own.
   */
  RECON_JOB_DEADLINE_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 60_000),
  /**
   * How often (ms) the deadline sweeper looks for open jobs past their deadline (jobs with no
   * message in flight); only services started with `sweepDeadlines` (ingest) run it. 0: off.
   */
  RECON_DEADLINE_SWEEP_MS: z.coerce.number().int().min(0).default(15_000),
  /**
   * RULES §7: the backoff before each retry of a transiently failed message, ms, comma-separated
   * (applied as the message's visibility: ChangeMessageVisibility, in whole seconds).
   */
  RECON_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected milliseconds separated by commas, e.g. 30000,60000,120000,240000')
    .default('30000,60000,120000,240000')
    .transform((v) => v.split(',').map(Number)),
  /** RULES §7: attempts of a message in all (the first included) before its job fails. */
  RECON_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  /**
   * TEST ONLY: `<key part>:<times>` — the store's put of a key containing `<key part>` fails with
   * a transient error (as S3 503 SlowDown would) `<times>` times in this process. Never set in
   * production.
   */
  RECON_TEST_PUT_FAULTS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'expected <key part>:<times>, e.g. results/shard-0001:2')
    .optional()
    .transform((v) => {
      if (v === undefined) return undefined;
      const at = v.lastIndexOf(':');
      return { keyIncludes: v.slice(0, at), times: Number(v.slice(at + 1)) };
    }),
  /**
   * TEST ONLY: every event this process publishes is sent twice (two queue messages), to prove
   * the handlers idempotent under duplicated delivery. Never set in production.
   */
  RECON_TEST_DUPLICATE_DELIVERY: envFlag,
  /**
   * TEST ONLY: comma-separated event types whose handler in this process always throws (a
   * "poison" handler), to prove the DLQ and job-failure path. Never set in production.
   */
  RECON_TEST_FAIL_EVENTS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
});
export type CommonEnv = z.output<typeof CommonEnvSchema>;

/**
 * Where the services that read the internal base (partition, matcher) find it: by default the
 * job store's database (DATABASE_URL, its credentials PGUSER/PGPASSWORD); or a PostgreSQL of its
 * own, such as the company's RDS, reached with a user of its own (read-only is enough). As with
 * DATABASE_URL on AWS, the URL carries no credentials: they come as secrets.
 */
export const BaseDatabaseEnvSchema = z.object({
  /** PostgreSQL holding the internal base (RDS on AWS); default: DATABASE_URL. */
  RECON_BASE_DATABASE_URL: z.string().url().optional(),
  /** The base's user, when it is not the job store's (PGUSER) nor in the URL. */
  RECON_BASE_PGUSER: z.string().min(1).optional(),
  /** That user's password. */
  RECON_BASE_PGPASSWORD: z.string().min(1).optional(),
});

/**
 * The connection URL of the internal base (see BaseDatabaseEnvSchema), with RECON_BASE_PGUSER and
 * RECON_BASE_PGPASSWORD put in: without them `pg` would take PGUSER/PGPASSWORD, the job store's.
 */
export function baseDatabaseUrl(
  env: { DATABASE_URL: string } & z.output<typeof BaseDatabaseEnvSchema>,
): string {
  const user = env.RECON_BASE_PGUSER;
  const password = env.RECON_BASE_PGPASSWORD;
  if (env.RECON_BASE_DATABASE_URL === undefined) {
    if (user !== undefined || password !== undefined) {
      throw new ReconError(
        'INVALID_CONFIG',
        'RECON_BASE_PGUSER/RECON_BASE_PGPASSWORD are set but RECON_BASE_DATABASE_URL is not: name the database of the internal base, or unset them to read it from DATABASE_URL with its credentials',
      );
    }
    return env.DATABASE_URL;
  }
  const url = new URL(env.RECON_BASE_DATABASE_URL);
  if ((user !== undefined && url.username !== '') || (password !== undefined && url.password !== '')) {
    throw new ReconError(
      'INVALID_CONFIG',
      'RECON_BASE_DATABASE_URL already holds credentials: give them there or in RECON_BASE_PGUSER/RECON_BASE_PGPASSWORD, not both',
    );
  }
  if (password !== undefined && user === undefined && url.username === '') {
    throw new ReconError('INVALID_CONFIG', 'RECON_BASE_PGPASSWORD is set without RECON_BASE_PGUSER');
  }
  // Percent-encoded whole (`pg` decodes them with decodeURIComponent): the URL setters alone leave
  // a `%` as it is, which would then not decode.
  if (user !== undefined) url.username = encodeURIComponent(user);
  if (password !== undefined) url.password = encodeURIComponent(password);
  return url.toString();
}

/** Parses the environment once, failing fast with every problem named (INVALID_CONFIG). */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Readonly<Record<string, string | undefined>>,
) {
  // Empty strings count as unset, as in a shell `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ReconError('INVALID_CONFIG', `invalid environment: ${issues}`);
  }
  return parsed.data as z.output<S>;
}
