import type { Logger } from '@recon/contracts';
import { isPermanent, type NotificationChannel } from './channels/channel.ts';
import type { Notification } from './messages.ts';

/**
 * Which (event, channel) pairs were already announced: the dedup that makes a redelivered event
 * produce no second message. In memory for one process now; the job store backs it later (a row per
 * key, claimed with an insert that does nothing on conflict).
 */
export interface NotificationLedger {
  /** Takes the right to send `key`; false when it was already taken (sent, or being sent). */
  claim(key: string): Promise<boolean>;
  /** Gives a claim back after every attempt failed, so a later redelivery of the event may try again. */
  release(key: string): Promise<void>;
}

export class InMemoryNotificationLedger implements NotificationLedger {
  private readonly claimed = new Set<string>();

  async claim(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  async release(key: string): Promise<void> {
    this.claimed.delete(key);
  }
}

export const DELIVERY_OUTCOMES = ['delivered', 'retried', 'failed', 'duplicate'] as const;
/**
 * - delivered: the channel accepted the message;
 * - retried: an attempt failed and another one follows;
 * - failed: the channel gave up (permanent error, or every retry spent);
 * - duplicate: the event had already been announced on this channel.
 */
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Where delivery outcomes are counted (the metrics read them). */
export interface DeliveryCounter {
  count(channel: string, outcome: DeliveryOutcome): void;
}

/** Counts per channel and outcome, in memory; `snapshot()` is what a metrics collector reads. */
export class DeliveryCounters implements DeliveryCounter {
  private readonly counts = new Map<string, number>();

  count(channel: string, outcome: DeliveryOutcome): void {
    const key = `${channel}\u0000${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get(channel: string, outcome: DeliveryOutcome): number {
    return this.counts.get(`${channel}\u0000${outcome}`) ?? 0;
  }

  snapshot(): { channel: string; outcome: DeliveryOutcome; count: number }[] {
    return [...this.counts.entries()].map(([key, count]) => {
      const [channel, outcome] = key.split('\u0000') as [string, DeliveryOutcome];
      return { channel, outcome, count };
    });
  }
}

export interface DispatchOptions {
  /** Waits before attempts 2, 3, …; its length is the number of retries. */
  delaysMs: readonly number[];
  ledger: NotificationLedger;
  counter: DeliveryCounter;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
}

export interface ChannelResult {
  channel: string;
  outcome: Exclude<DeliveryOutcome, 'retried'>;
  attempts: number;
}

/**
 * Sends a notification to its channels, all at once: a slow or failing channel does not hold the
 * others back. Each channel retries transient failures on the schedule; a channel that gives up is
 * logged and counted, never thrown, so the event is handled either way.
 */
export async function dispatch(
  n: Notification,
  channels: readonly NotificationChannel[],
  options: DispatchOptions,
): Promise<ChannelResult[]> {
  return Promise.all(channels.map((channel) => deliver(n, channel, options)));
}

async function deliver(
  n: Notification,
  channel: NotificationChannel,
  { delaysMs, ledger, counter, log, sleep }: DispatchOptions,
): Promise<ChannelResult> {
  const key = `${n.eventId}#${channel.name}`;
  const fields = { job_id: n.jobId, stage: 'notifier', event_id: n.eventId, channel: channel.name };
  if (!(await ledger.claim(key))) {
    counter.count(channel.name, 'duplicate');
    return { channel: channel.name, outcome: 'duplicate', attempts: 0 };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await channel.send(n);
      counter.count(channel.name, 'delivered');
      return { channel: channel.name, outcome: 'delivered', attempts: attempt };
    } catch (error) {
      const err = error instanceof Error ? error.message : String(error);
      const delay = delaysMs[attempt - 1];
      const permanent = isPermanent(error);
      if (permanent || delay === undefined) {
        counter.count(channel.name, 'failed');
        log.error(
          { ...fields, severity: n.severity, attempts: attempt, permanent, err },
          'notification not delivered',
        );
        await ledger.release(key);
        return { channel: channel.name, outcome: 'failed', attempts: attempt };
      }
      counter.count(channel.name, 'retried');
      log.warn({ ...fields, attempt, retry_in_ms: delay, err }, 'notification attempt failed, retrying');
      await sleep(delay);
    }
  }
}
