import type { Notification } from '../messages.ts';

/** Where notifications go (Slack, email, the log): the notifier's one port. */
export interface NotificationChannel {
  readonly name: string;
  /** Delivers once; throws on failure (a DeliveryError says whether retrying can help). */
  send(notification: Notification): Promise<void>;
}

/** A failed delivery; `permanent` failures (bad request, rejected recipient) are not retried. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly permanent: boolean;

  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.permanent = options.permanent;
  }
}

/** Whether an error says retrying the same delivery cannot succeed. */
export function isPermanent(error: unknown): boolean {
  if (error instanceof DeliveryError) return error.permanent;
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}
