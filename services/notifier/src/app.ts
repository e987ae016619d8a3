import type { AlertRaised, JobFailed, JobSucceeded, ServiceContext } from '@recon/contracts';
import { alertMessage, jobFailedMessage, jobSucceededMessage, type Notification } from './messages.ts';

/** Where notifications go (Slack, email, the log). */
export interface NotificationChannel {
  readonly name: string;
  send(notification: Notification): Promise<void>;
}

/** The log channel: every notification as a structured log line. */
export function logChannel(ctx: Pick<ServiceContext, 'log'>): NotificationChannel {
  return {
    name: 'log',
    async send(n) {
      ctx.log.info({ job_id: n.jobId, severity: n.severity, event_id: n.eventId }, `${n.title} — ${n.text}`);
    },
  };
}

/**
 * The notifier service. It announces each event at most once per process even when the bus
 * delivers it twice; a failing channel does not stop the others.
 */
export function notifierHandlers(channels: (ctx: ServiceContext) => readonly NotificationChannel[]) {
  const sent = new Set<string>();
  const deliver = async (ctx: ServiceContext, n: Notification) => {
    if (sent.has(n.eventId)) return;
    sent.add(n.eventId);
    for (const channel of channels(ctx)) {
      try {
        await channel.send(n);
      } catch (error) {
        ctx.log.error({ job_id: n.jobId, channel: channel.name, err: String(error) }, 'notification failed');
      }
    }
  };
  return {
    'job.succeeded': (ctx: ServiceContext, e: JobSucceeded) =>
      deliver(ctx, jobSucceededMessage(`job.succeeded:${e.jobId}`, e)),
    'job.failed': (ctx: ServiceContext, e: JobFailed) =>
      deliver(ctx, jobFailedMessage(`job.failed:${e.jobId}`, e)),
    'alert.raised': (ctx: ServiceContext, e: AlertRaised) =>
      deliver(ctx, alertMessage(`alert.raised:${e.jobId}:${e.alert}`, e)),
  };
}
