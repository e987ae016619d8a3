import { setTimeout as delay } from 'node:timers/promises';
import {
  type AlertRaised,
  type DeliveryMissing,
  type JobFailed,
  type JobSucceeded,
  type JobSummary,
  keys,
  ReconError,
  type ServiceContext,
} from '@recon/contracts';
import type { NotificationChannel } from './channels/channel.ts';
import { type SesSend, sesChannel, smtpChannel } from './channels/email.ts';
import { logChannel } from './channels/log.ts';
import { slackChannel } from './channels/slack.ts';
import { type NotifierConfigInput, parseNotifierConfig, type RoutableChannel } from './config.ts';
import {
  type DeliveryCounter,
  DeliveryCounters,
  dispatch,
  InMemoryNotificationLedger,
  type NotificationLedger,
} from './delivery.ts';
import { maskNotification } from './masking.ts';
import {
  alertMessage,
  deliveryMissingMessage,
  type FailedJobFacts,
  jobFailedMessage,
  jobSucceededMessage,
  type MessageContext,
  type Notification,
} from './messages.ts';

/** The average divergence rate of recent days (runbook §2.5 "Histórico médio"), when known. */
export interface DivergenceHistory {
  averageRate(query: { jobId: string; referenceDate: string }): Promise<number | null>;
}

/** What the notifier gets from its process besides the configuration. */
export interface NotifierDeps {
  /** Dedup of (event, channel); default: in memory. */
  ledger?: NotificationLedger;
  /** Delivery outcomes per channel; pass a `DeliveryCounters` (or a metrics adapter) to read them. */
  counter?: DeliveryCounter;
  /** Required with `email.transport: 'ses'`: sends one raw MIME message through SES. */
  sesSend?: SesSend;
  /** The divergence-rate history; without it the message says "não disponível". */
  history?: DivergenceHistory;
  /** HTTP client of the Slack channel (default: the global fetch). */
  fetch?: typeof fetch;
  /** Waits between retries (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** The handlers of the `notifier` queue. */
export interface NotifierHandlers {
  'job.succeeded': (ctx: ServiceContext, e: JobSucceeded) => Promise<void>;
  'job.failed': (ctx: ServiceContext, e: JobFailed) => Promise<void>;
  'alert.raised': (ctx: ServiceContext, e: AlertRaised) => Promise<void>;
  'delivery.missing': (ctx: ServiceContext, e: DeliveryMissing) => Promise<void>;
}

interface Core {
  /** The channels a notification goes to. */
  route(ctx: ServiceContext, n: Notification): readonly NotificationChannel[];
  delaysMs: readonly number[];
  ledger: NotificationLedger;
  counter: DeliveryCounter;
  sleep: (ms: number) => Promise<void>;
  timeZone: string;
  dashboardUrl?: string;
  history?: DivergenceHistory;
}

/**
 * The notifier of issue 6: Slack, email (SMTP or SES) and the log, routed by severity, with
 * retries, dedup and masking. The configuration is validated (INVALID_CONFIG on error).
 */
export function createNotifier(input: NotifierConfigInput, deps: NotifierDeps = {}): NotifierHandlers {
  const config = parseNotifierConfig(input);
  const external: Partial<Record<RoutableChannel, NotificationChannel>> = {};
  if (config.slack !== undefined) {
    external.slack = slackChannel({
      ...config.slack,
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
  }
  if (config.email?.transport === 'smtp') external.email = smtpChannel(config.email);
  if (config.email?.transport === 'ses') {
    if (deps.sesSend === undefined) {
      throw new ReconError(
        'INVALID_CONFIG',
        'email.transport "ses" needs a sesSend function from the runtime',
      );
    }
    external.email = sesChannel(config.email, deps.sesSend);
  }
  return handlers({
    route: (ctx, n) => [
      ...config.routing[n.severity].flatMap((name) => {
        const channel = external[name];
        return channel === undefined ? [] : [channel];
      }),
      logChannel(ctx),
    ],
    delaysMs: config.retry.delaysMs,
    ledger: deps.ledger ?? new InMemoryNotificationLedger(),
    counter: deps.counter ?? new DeliveryCounters(),
    sleep: deps.sleep ?? ((ms) => delay(ms)),
    timeZone: config.timeZone,
    ...(config.dashboardUrl === undefined ? {} : { dashboardUrl: config.dashboardUrl }),
    ...(deps.history === undefined ? {} : { history: deps.history }),
  });
}

function handlers(core: Core): NotifierHandlers {
  const messageContext = (ctx: ServiceContext): MessageContext => ({
    timeZone: core.timeZone,
    uri: (key) => ctx.store.uri(key),
    ...(core.dashboardUrl === undefined ? {} : { dashboardUrl: core.dashboardUrl }),
  });
  const send = async (ctx: ServiceContext, n: Notification) => {
    const masked = maskNotification(n);
    await dispatch(masked, core.route(ctx, masked), {
      delaysMs: core.delaysMs,
      ledger: core.ledger,
      counter: core.counter,
      log: ctx.log,
      sleep: core.sleep,
    });
  };
  return {
    'job.succeeded': async (ctx, e) => {
      const summary = await readSummary(ctx, e.jobId, e.summaryKey);
      await send(ctx, jobSucceededMessage(`job.succeeded:${e.jobId}`, e, summary, messageContext(ctx)));
    },
    'job.failed': async (ctx, e) => {
      await send(
        ctx,
        jobFailedMessage(`job.failed:${e.jobId}`, e, await failedJobFacts(ctx, e), messageContext(ctx)),
      );
    },
    'alert.raised': async (ctx, e) => {
      const summary = await readSummary(ctx, e.jobId, keys.summary(e.jobId));
      let historicalRate: number | null = null;
      if (e.alert === 'DIVERGENCE_RATE' && core.history !== undefined && summary !== null) {
        historicalRate = await core.history
          .averageRate({ jobId: e.jobId, referenceDate: summary.reference_date })
          .catch((error: unknown) => {
            ctx.log.warn(
              { job_id: e.jobId, stage: 'notifier', err: String(error) },
              'divergence history unavailable',
            );
            return null;
          });
      }
      await send(
        ctx,
        alertMessage(
          `alert.raised:${e.jobId}:${e.alert}`,
          e,
          { summary, historicalRate },
          messageContext(ctx),
        ),
      );
    },
    'delivery.missing': async (ctx, e) => {
      await send(ctx, deliveryMissingMessage(`delivery.missing:${e.referenceDate}`, e, messageContext(ctx)));
    },
  };
}

/** The job's summary.json, or null (the message then says the breakdown is unavailable). */
async function readSummary(ctx: ServiceContext, jobId: string, key: string): Promise<JobSummary | null> {
  try {
    return JSON.parse(Buffer.from(await ctx.store.get(key)).toString('utf8')) as JobSummary;
  } catch (error) {
    ctx.log.warn({ job_id: jobId, stage: 'notifier', key, err: String(error) }, 'summary.json unreadable');
    return null;
  }
}

/** Start and end of a failed job, from the job store. */
async function failedJobFacts(ctx: ServiceContext, e: JobFailed): Promise<FailedJobFacts> {
  const job = await ctx.jobs.getJob(e.jobId).catch(() => undefined);
  if (job === undefined) return {};
  const ended = [...job.history].reverse().find((h) => h.status === e.status);
  return {
    ...(job.history[0] === undefined ? {} : { startedAt: job.history[0].at }),
    ...(ended === undefined ? {} : { finishedAt: ended.at }),
    referenceDate: job.request.referenceDate,
  };
}
