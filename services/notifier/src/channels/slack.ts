import type { Notification, NotificationSeverity } from '../messages.ts';
import { DeliveryError, type NotificationChannel } from './channel.ts';

const EMOJI: Record<NotificationSeverity, string> = {
  CRITICAL: '🚨',
  HIGH: '🔴',
  MEDIUM: '🟠',
  LOW: '🟡',
  INFO: '✅',
};

/** Escapes text for Slack mrkdwn (the three characters Slack asks to escape). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type Block = Record<string, unknown>;

/**
 * The Block Kit message of a notification: a header, the gist, the facts as section fields (at most
 * 10 per section), one section per list, the links, and a context line (severity, job, playbook).
 * `text` is the fallback shown in notifications and by clients without blocks.
 */
export function slackMessage(n: Notification): { text: string; blocks: Block[] } {
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`${EMOJI[n.severity]} ${n.title}`, 150), emoji: true },
    },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(n.text), 3000) } },
  ];
  for (let k = 0; k < n.fields.length; k += 10) {
    blocks.push({
      type: 'section',
      fields: n.fields.slice(k, k + 10).map((f) => ({
        type: 'mrkdwn',
        text: truncate(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, 2000),
      })),
    });
  }
  for (const s of n.sections) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*${escapeMrkdwn(s.heading)}*\n${s.lines.map((l) => (/^\d+\. /.test(l) ? escapeMrkdwn(l) : `• ${escapeMrkdwn(l)}`)).join('\n')}`,
          3000,
        ),
      },
    });
  }
  if (n.links.length > 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: n.links
          .map((l) => `<${l.url.replace(/[|<>]/g, encodeURIComponent)}|${escapeMrkdwn(l.label)}>`)
          .join(' · '),
      },
    });
  }
  const context = [`Severidade *${n.severity}*`, ...(n.jobId === undefined ? [] : [`job ${n.jobId}`])];
  if (n.playbook !== undefined) context.push(`playbook ${escapeMrkdwn(n.playbook)}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: `[${n.severity}] ${n.title}`, blocks };
}

export interface SlackChannelOptions {
  webhookUrl: string;
  timeoutMs: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/**
 * Slack incoming webhook. HTTP 429 and 5xx, network errors and timeouts are transient (retried);
 * any other non-2xx answer is permanent (a revoked webhook, a malformed payload).
 */
export function slackChannel(options: SlackChannelOptions): NotificationChannel {
  const doFetch = options.fetch ?? fetch;
  return {
    name: 'slack',
    async send(n) {
      let response: Response;
      try {
        response = await doFetch(options.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(slackMessage(n)),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        // The URL is a secret: never put it in the message.
        throw new DeliveryError(`Slack webhook unreachable: ${(error as Error).message}`, {
          permanent: false,
          cause: error,
        });
      }
      const body = await response.text().catch(() => '');
      if (response.ok) return;
      const transient = response.status === 429 || response.status >= 500;
      throw new DeliveryError(`Slack webhook answered HTTP ${response.status}: ${body.slice(0, 200)}`, {
        permanent: !transient,
      });
    },
  };
}
