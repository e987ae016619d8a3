import { resolve } from 'node:path';
import { READ_MODEL_RETENTION_DAYS, ReconError } from '@recon/contracts';
import { type NotifierConfigInput, notifierConfigFromEnv } from '@recon/notifier';
import { z } from 'zod';
import { DEFAULT_SERVICE_OPTIONS } from './embedded/options.ts';

/**
 * The environment, read once, validated, documented. Nothing else reads `process.env`.
 * Command-line options override these.
 */
const EnvSchema = z.object({
  /** PostgreSQL holding the internal base. Unset: recon starts its own embedded server. */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded PostgreSQL keeps its data (created on first use). */
  RECON_PG_DIR: z.string().default('.recon/pg'),
  /** Where `recon demo` writes its generated day and outputs. */
  RECON_DEMO_DIR: z.string().default('.recon/demo'),
  /** Where `recon serve` keeps its outputs (Parquet, summaries, checkpoints, uploads). */
  RECON_SERVE_DIR: z.string().default('.recon/serve'),
  /** Address and port of `recon serve` (the CDK app sets them for the admin API task). */
  RECON_HTTP_HOST: z.string().default('127.0.0.1'),
  RECON_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  /**
   * `recon serve`: jobs loaded into the read model more than this many days ago leave it (at start,
   * then daily); 0 keeps them all. Default: §10.5's two years, as long as the Parquet is kept.
   */
  RECON_READ_MODEL_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .max(36_500)
    .default(READ_MODEL_RETENTION_DAYS),
  /** `distributed`: `recon serve` drives the distributed runtime (the admin API's task in AWS). */
  RECON_SERVE_RUNTIME: z.enum(['embedded', 'distributed']).default('embedded'),
  /** Log level of the structured JSON logs on stderr. */
  RECON_LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info']).default('silent'),
  /** Worker threads for the CPU-bound services (default: the machine's cores). */
  RECON_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** OpenTelemetry spans per stage: `off` (default) or `console`. */
  RECON_TRACE_EXPORTER: z.enum(['off', 'console']).default('off'),
  /** Backoff before each retry of a transiently failed step, ms, comma-separated (RULES §7). */
  RECON_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected milliseconds separated by commas, e.g. 30000,60000,120000,240000')
    .default('30000,60000,120000,240000')
    .transform((v) => v.split(',').map(Number)),
  /** Attempts per step in all (the first included). */
  RECON_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /**
   * A fixed "now" (ISO) for reproducible outputs (tests, benchmarks): job ids, timestamps in the
   * Parquet and summaries. Unset: the system clock.
   */
  RECON_FIXED_NOW: z.string().datetime({ offset: true }).optional(),
  /**
   * TEST ONLY: milliseconds each shard waits before it is matched, so a test can stop or kill a
   * run in the middle of matching. Never set in production.
   */
  RECON_TEST_MATCHER_DELAY_MS: z.coerce.number().int().min(0).max(600_000).optional(),

  // ---- the missing-delivery check (recon check-delivery, DeliveryWatch in recon serve) ----
  /** Local time (HH:MM) by which the vendor file of D-1 must have arrived; the daily check runs then. */
  RECON_DELIVERY_EXPECTED_BY: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time of day as HH:MM, e.g. 09:00')
    .optional(),
  /** Time zone of that time and of "yesterday" (IANA name). */
  RECON_DELIVERY_TIME_ZONE: z.string().min(1).default('America/Sao_Paulo'),
  /** Severity of the delivery.missing alert (HIGH: Slack and email by default). */
  RECON_DELIVERY_SEVERITY: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).default('HIGH'),
  /** A local ingress folder laid out as `YYYY-MM-DD/<file>.csv` (where files arrive without AWS). */
  RECON_INGRESS_DIR: z.string().min(1).optional(),

  // ---- the distributed runtime, for the commands that act on it (check-delivery, reprocess) ----
  /** The ingress bucket (`YYYY-MM-DD/<file>.csv`): set, check-delivery looks there (AWS, or `recon stack`). */
  RECON_INGRESS_BUCKET: z.string().min(3).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** An SQS/S3-compatible endpoint (fauxqs, `recon stack`); unset on AWS. */
  AWS_ENDPOINT_URL: z.string().url().optional(),
  /** Publish through this EventBridge bus (AWS); unset: straight to the routed SQS queues. */
  RECON_EVENT_BUS_NAME: z.string().min(1).optional(),
  /** Queues are named `<prefix><service>`. */
  RECON_QUEUE_PREFIX: z.string().default('recon-'),
});

/**
 * The environment, plus the notifier's settings (RECON_SLACK_WEBHOOK_URL, RECON_SMTP_*,
 * RECON_MAIL_FROM/TO, RECON_NOTIFY_*, RECON_DASHBOARD_URL: see services/notifier/src/config.ts).
 */
export type Env = z.infer<typeof EnvSchema> & { notifier: NotifierConfigInput };

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ReconError('INVALID_CONFIG', `invalid environment: ${issues}`);
  }
  return {
    ...parsed.data,
    RECON_PG_DIR: resolve(parsed.data.RECON_PG_DIR),
    RECON_DEMO_DIR: resolve(parsed.data.RECON_DEMO_DIR),
    notifier: notifierConfigFromEnv(source),
  };
}

/**
 * What every job run takes from the environment: worker threads, logs, notifications, traces,
 * retries, the fixed clock, and (TEST ONLY) the matcher delay. (`run` and `reprocess` let their
 * `--workers` override RECON_WORKERS.)
 */
export function runtimeSettings(env: Env) {
  return {
    ...(env.RECON_WORKERS === undefined ? {} : { workers: env.RECON_WORKERS }),
    logLevel: env.RECON_LOG_LEVEL,
    notifier: env.notifier,
    traceExporter: env.RECON_TRACE_EXPORTER,
    retry: { delaysMs: env.RECON_RETRY_DELAYS_MS, maxAttempts: env.RECON_RETRY_MAX_ATTEMPTS },
    ...(env.RECON_FIXED_NOW === undefined ? {} : { fixedNow: new Date(env.RECON_FIXED_NOW).toISOString() }),
    ...(env.RECON_TEST_MATCHER_DELAY_MS === undefined
      ? {}
      : { options: { ...DEFAULT_SERVICE_OPTIONS, testMatcherDelayMs: env.RECON_TEST_MATCHER_DELAY_MS } }),
  };
}
