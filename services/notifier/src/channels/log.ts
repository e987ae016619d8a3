import type { ServiceContext } from '@recon/contracts';
import type { NotificationChannel } from './channel.ts';

/** The log channel: every notification as one structured log line (always on, whatever the routing). */
export function logChannel(ctx: Pick<ServiceContext, 'log'>): NotificationChannel {
  return {
    name: 'log',
    async send(n) {
      ctx.log.info(
        {
          job_id: n.jobId,
          stage: 'notifier',
          event_id: n.eventId,
          kind: n.kind,
          severity: n.severity,
          ...(n.playbook === undefined ? {} : { playbook: n.playbook }),
        },
        `${n.title} — ${n.text}`,
      );
    },
  };
}
