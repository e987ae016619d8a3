import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@recon/contracts';

/**
 * Test helpers: wait on events with a deadline instead of sleeping, and stand-ins for the AWS
 * APIs that have no local emulator (a plain HTTP server on 127.0.0.1 speaking their protocol to
 * the real SDK). Used by the AWS adapter tests, the notifier's receivers and the distributed
 * end-to-end tests.
 */

/**
 * An HTTP server on 127.0.0.1 and a random port that hands each request, with its whole body, to
 * `answer`; resolves with the server and its origin (`http://127.0.0.1:<port>`).
 */
export async function listenLocal(
  answer: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void,
): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Stops a stand-in's server (none started: nothing to do). */
export function closeServer(server: { close(done: () => void): unknown } | undefined): Promise<void> {
  return new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
}

/** Rejects with a message naming what was awaited if `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T | PromiseLike<T>): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A condition re-checked whenever something calls `notify()` (from a hook): `until` resolves as
 * soon as the predicate holds.
 */
export class Signal {
  private waiters: { predicate: () => boolean; resolve: () => void }[] = [];

  notify(): void {
    const ready = this.waiters.filter((w) => w.predicate());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  until(predicate: () => boolean, ms: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    const wait = new Promise<void>((resolve) => this.waiters.push({ predicate, resolve }));
    return withTimeout(wait, ms, what);
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps its lines, for assertions on coded errors. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
}
