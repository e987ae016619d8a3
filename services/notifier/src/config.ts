import { ReconError } from '@recon/contracts';
import { z } from 'zod';
import type { NOTIFICATION_SEVERITIES } from './messages.ts';

/** The external channels a severity can be routed to (the log channel always receives everything). */
export const ROUTABLE_CHANNELS = ['slack', 'email'] as const;
export type RoutableChannel = (typeof ROUTABLE_CHANNELS)[number];

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const channelList = z.array(z.enum(ROUTABLE_CHANNELS));

/** Runbook §2.1/§2.2 ("Slack + Email" for CRITICAL) and §3.2; MEDIUM and below go to Slack only. */
export const DEFAULT_ROUTING: Record<(typeof NOTIFICATION_SEVERITIES)[number], RoutableChannel[]> = {
  CRITICAL: ['slack', 'email'],
  HIGH: ['slack', 'email'],
  MEDIUM: ['slack'],
  LOW: ['slack'],
  INFO: ['slack'],
};

export const DEFAULT_RETRY_DELAYS_MS = [1_000, 4_000, 15_000];

const SmtpSchema = z
  .object({
    transport: z.literal('smtp'),
    /** SMTP server host name. */
    host: z.string().min(1),
    /** SMTP port: 587 (submission, STARTTLS), 465 (implicit TLS, with `secure: true`), 25. */
    port: z.number().int().min(1).max(65_535).default(587),
    /** Implicit TLS from the first byte (port 465). With false, STARTTLS follows `starttls`. */
    secure: z.boolean().default(false),
    /** `auto`: STARTTLS when the server offers it; `require`: refuse to send without it; `never`: plain text. */
    starttls: z.enum(['auto', 'require', 'never']).default('auto'),
    /** Credentials, both or neither (no authentication). */
    user: z.string().min(1).optional(),
    pass: z.string().min(1).optional(),
    /** Sender, e.g. `Conciliação <recon@empresa.com>`. */
    from: z.string().min(3),
    /** Recipients (runbook §3.1: ops-conciliacao@empresa.com …). */
    to: z.array(z.email()).min(1),
    /** Connection, greeting and socket timeout of one attempt. */
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .refine((s) => (s.user === undefined) === (s.pass === undefined), {
    message: 'SMTP user and pass go together',
    path: ['pass'],
  });

const SesSchema = z.object({
  /** Amazon SES: the raw message goes to an injected `send(raw)` (SESv2 SendEmail with Content.Raw). */
  transport: z.literal('ses'),
  /** A verified SES identity. */
  from: z.string().min(3),
  to: z.array(z.email()).min(1),
});

/**
 * The notifier's configuration. Every field has a default except the destinations: with no
 * `slack` and no `email`, notifications go to the log only.
 */
export const NotifierConfigSchema = z.object({
  /** Slack incoming webhook; the message is Block Kit JSON posted to `webhookUrl`. */
  slack: z
    .object({
      /** The incoming webhook URL (https://hooks.slack.com/services/…); a secret — pass it from the environment. */
      webhookUrl: httpUrl,
      /** Timeout of one POST. */
      timeoutMs: z.number().int().positive().default(10_000),
    })
    .optional(),
  /** Email: SMTP (nodemailer; the embedded runtime) or SES (AWS). */
  email: z.discriminatedUnion('transport', [SmtpSchema, SesSchema]).optional(),
  /**
   * Severity → external channels. Missing severities keep their default (DEFAULT_ROUTING); an empty
   * list sends that severity to the log only. A route to a channel that is not configured is skipped.
   */
  routing: z
    .object({
      CRITICAL: channelList.default(DEFAULT_ROUTING.CRITICAL),
      HIGH: channelList.default(DEFAULT_ROUTING.HIGH),
      MEDIUM: channelList.default(DEFAULT_ROUTING.MEDIUM),
      LOW: channelList.default(DEFAULT_ROUTING.LOW),
      INFO: channelList.default(DEFAULT_ROUTING.INFO),
    })
    .strict()
    .prefault({}),
  /** The dashboard linked from every message ("Visão Geral de Divergências"). */
  dashboardUrl: httpUrl.optional(),
  /**
   * Delivery retries per channel: the waits before attempts 2, 3, … (so `[1000, 4000, 15000]` is four
   * attempts). Transient failures (network, timeouts, HTTP 429/5xx, SMTP 4xx) are retried; permanent
   * ones (HTTP 4xx, SMTP 5xx, bad credentials) are not.
   */
  retry: z
    .object({
      delaysMs: z.array(z.number().int().min(0).max(600_000)).max(10).default(DEFAULT_RETRY_DELAYS_MS),
    })
    .prefault({}),
  /** Time zone of the times in messages (IANA name). */
  timeZone: z
    .string()
    .refine(isTimeZone, { message: 'expected an IANA time zone, e.g. America/Sao_Paulo' })
    .default('America/Sao_Paulo'),
});

export type NotifierConfigInput = z.input<typeof NotifierConfigSchema>;
export type NotifierConfig = z.output<typeof NotifierConfigSchema>;
export type SmtpConfig = z.output<typeof SmtpSchema>;
export type SesConfig = z.output<typeof SesSchema>;

/** Whether `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Validates a configuration; throws INVALID_CONFIG naming every bad field. */
export function parseNotifierConfig(input: NotifierConfigInput): NotifierConfig {
  const parsed = NotifierConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ReconError('INVALID_CONFIG', `invalid notifier configuration: ${issues}`);
  }
  return parsed.data;
}

/**
 * The environment variables of the notifier, for the processes that configure it from the
 * environment (the CLI's config module, the distributed notifier's main):
 *
 * - `RECON_SLACK_WEBHOOK_URL` — Slack incoming webhook (unset: no Slack).
 * - `RECON_EMAIL_TRANSPORT` — `smtp` (default when `RECON_SMTP_HOST` is set) or `ses`.
 * - `RECON_SMTP_HOST`, `RECON_SMTP_PORT` (587), `RECON_SMTP_SECURE` (`true`/`false`),
 *   `RECON_SMTP_STARTTLS` (`auto`/`require`/`never`), `RECON_SMTP_USER`, `RECON_SMTP_PASS`.
 * - `RECON_MAIL_FROM`, `RECON_MAIL_TO` (comma-separated) — required with any email transport.
 * - `RECON_DASHBOARD_URL` — the dashboard linked from messages.
 * - `RECON_NOTIFY_ROUTING` — e.g. `CRITICAL=slack+email,HIGH=slack+email,MEDIUM=slack,INFO=`
 *   (listed severities replace their default; `INFO=` means the log only).
 * - `RECON_NOTIFY_RETRY_MS` — e.g. `1000,4000,15000`.
 * - `RECON_NOTIFY_TIME_ZONE` — e.g. `America/Sao_Paulo`.
 */
export function notifierConfigFromEnv(env: Readonly<Record<string, string | undefined>>): NotifierConfig {
  const input: Record<string, unknown> = {};
  const v = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const slack = v('RECON_SLACK_WEBHOOK_URL');
  if (slack !== undefined) input.slack = { webhookUrl: slack };
  const transport = v('RECON_EMAIL_TRANSPORT') ?? (v('RECON_SMTP_HOST') === undefined ? undefined : 'smtp');
  if (transport !== undefined) {
    const to = (v('RECON_MAIL_TO') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const email: Record<string, unknown> = { transport, from: v('RECON_MAIL_FROM'), to };
    if (transport === 'smtp') {
      email.host = v('RECON_SMTP_HOST');
      const port = v('RECON_SMTP_PORT');
      if (port !== undefined) email.port = Number(port);
      const secure = v('RECON_SMTP_SECURE');
      if (secure !== undefined) email.secure = secure === 'true' || secure === '1';
      const starttls = v('RECON_SMTP_STARTTLS');
      if (starttls !== undefined) email.starttls = starttls;
      email.user = v('RECON_SMTP_USER');
      email.pass = v('RECON_SMTP_PASS');
    }
    input.email = email;
  }
  const dashboard = v('RECON_DASHBOARD_URL');
  if (dashboard !== undefined) input.dashboardUrl = dashboard;
  const routing = v('RECON_NOTIFY_ROUTING');
  if (routing !== undefined) {
    const table: Record<string, string[]> = {};
    for (const entry of routing.split(',')) {
      const [severity, channels = ''] = entry.split('=');
      table[(severity ?? '').trim().toUpperCase()] = channels
        .split('+')
        .map((c) => c.trim())
        .filter((c) => c !== '');
    }
    input.routing = table;
  }
  const retry = v('RECON_NOTIFY_RETRY_MS');
  if (retry !== undefined) input.retry = { delaysMs: retry.split(',').map((s) => Number(s.trim())) };
  const tz = v('RECON_NOTIFY_TIME_ZONE');
  if (tz !== undefined) input.timeZone = tz;
  return parseNotifierConfig(input as NotifierConfigInput);
}
