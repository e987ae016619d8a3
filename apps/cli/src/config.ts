import { resolve } from 'node:path';
import { ReconError } from '@recon/contracts';
import { type NotifierConfigInput, notifierConfigFromEnv } from '@recon/notifier';
import { z } from 'zod';

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

/** What every job run takes from the environment: logs, notifications, traces, retries. */
export function runtimeSettings(env: Env) {
  return {
    logLevel: env.RECON_LOG_LEVEL,
    notifier: env.notifier,
    traceExporter: env.RECON_TRACE_EXPORTER,
    retry: { delaysMs: env.RECON_RETRY_DELAYS_MS, maxAttempts: env.RECON_RETRY_MAX_ATTEMPTS },
  };
}
