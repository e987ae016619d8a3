import { setTimeout as sleep } from 'node:timers/promises';

export interface UntilOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Time between two probes (default 50 ms). */
  intervalMs?: number;
}

/**
 * Probes until `probe` gives a value (anything but undefined) and returns it. A probe that throws
 * counts as "not yet" (a file not written yet, a server still starting). After `timeoutMs` it
 * throws, naming `what` it waited for; `what` may be a function, called then, to say what it last
 * saw (e.g. a job's status).
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 50 }: UntilOptions = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** `true` when `condition` holds, else undefined: a boolean condition as an `until` probe. */
export function holds(condition: boolean): true | undefined {
  return condition ? true : undefined;
}
