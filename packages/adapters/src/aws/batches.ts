/**
 * Batched sends that retry only the entries that failed (SQS SendMessageBatch, EventBridge
 * PutEvents both answer per entry), with bounded attempts and exponential backoff.
 */

export interface EntryFailure<T> {
  entry: T;
  code: string;
  message: string;
  /** Whether sending the entry again can succeed (throttling, internal failure). */
  retryable: boolean;
}

export interface BatchLimits<T> {
  maxEntries: number;
  maxBytes: number;
  sizeOf(entry: T): number;
}

export interface RetryPolicy {
  /** Attempts per entry, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Splits entries into batches of at most `maxEntries` entries and `maxBytes` bytes (in order). */
export function toBatches<T>(entries: readonly T[], limits: BatchLimits<T>): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = limits.sizeOf(entry);
    if (current.length > 0 && (current.length >= limits.maxEntries || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends `entries` in batches; after each round, the entries that failed with a retryable code are
 * sent again (and only those) after a backoff. Returns what still failed after `maxAttempts`.
 * `send` returns the failed entries of its batch; if it throws, every entry of the batch failed.
 */
export async function sendWithRetries<T>(
  entries: readonly T[],
  limits: BatchLimits<T>,
  policy: RetryPolicy,
  send: (batch: T[]) => Promise<EntryFailure<T>[]>,
  classify: (error: unknown) => { code: string; message: string; retryable: boolean },
  parallelBatches = 4,
): Promise<EntryFailure<T>[]> {
  const final: EntryFailure<T>[] = [];
  let pending: readonly T[] = entries;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const batches = toBatches(pending, limits);
    const failures: EntryFailure<T>[] = [];
    await forEachLimited(batches, parallelBatches, async (batch) => {
      try {
        failures.push(...(await send(batch)));
      } catch (error) {
        const { code, message, retryable } = classify(error);
        for (const entry of batch) failures.push({ entry, code, message, retryable });
      }
    });
    const retry = failures.filter((f) => f.retryable);
    final.push(...failures.filter((f) => !f.retryable));
    if (attempt >= policy.maxAttempts) {
      final.push(...retry);
      break;
    }
    pending = retry.map((f) => f.entry);
    if (pending.length > 0) await delay(backoffMs(attempt, policy));
  }
  return final;
}

/** Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
