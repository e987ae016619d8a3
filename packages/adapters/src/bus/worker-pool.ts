import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { type Envelope, type ErrorCode, type QueueName, ReconError } from '@recon/contracts';
import type { QueueConsumer } from './in-process.ts';

/** An error as it crosses a thread boundary. */
export interface WireError {
  name: string;
  message: string;
  code?: ErrorCode;
  transient?: boolean;
  stack?: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ReconError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      transient: error.transient,
      stack: error.stack,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

export function fromWireError(wire: WireError): Error {
  const error =
    wire.code === undefined
      ? new Error(wire.message)
      : new ReconError(wire.code, wire.message, { transient: wire.transient ?? false });
  error.name = wire.name;
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

export type MainToWorker =
  | { kind: 'task'; id: number; queue: QueueName; envelope: Envelope }
  /** Write the code cache of the worker's bundle as its code is now (see `WorkerPool.close`). */
  | { kind: 'write-code-cache' }
  | { kind: 'rpc-result'; id: number; ok: true; value: unknown }
  | { kind: 'rpc-result'; id: number; ok: false; error: WireError };

export type WorkerToMain =
  | { kind: 'done'; id: number; ok: true }
  | { kind: 'done'; id: number; ok: false; error: WireError }
  | { kind: 'rpc'; id: number; target: string; method: string; args: unknown[] }
  | { kind: 'log'; line: string }
  /**
   * The worker's module has loaded: from now on a crash replaces the worker. `codeCacheAfterRun`:
   * whether its bundle was compiled with a code cache written after a run (null: no bundle).
   */
  | { kind: 'ready'; codeCacheAfterRun?: boolean | null }
  | { kind: 'code-cache-written'; ok: boolean };

/** Serves a worker's calls to the ports that live in the main thread (job store, event bus). */
export type RpcServer = (target: string, method: string, args: unknown[]) => Promise<unknown>;

/** Old-generation size (MiB) below which a worker's heap does not run full collections. */
const INITIAL_OLD_SPACE_MB = 128;

/** What a worker thread starts from. */
export interface WorkerBoot {
  /** The module each worker runs. */
  url: URL;
  /** Node options of the workers (default: the process's own, `process.execArgv`). */
  execArgv?: string[];
  /** Arguments appended to each worker's `process.argv`. */
  argv?: string[];
}

interface Slot {
  worker: Worker;
  task: { id: number; resolve: () => void; reject: (e: Error) => void } | null;
  /** Its module loaded (it sent `ready`). */
  ready: boolean;
  /** As its `ready` said (undefined: not said). */
  codeCacheAfterRun?: boolean | null;
  /** Tasks it ran to the end. */
  tasksRun: number;
  /** Resolves a `write-code-cache` request in flight. */
  cacheWritten?: (ok: boolean) => void;
}

/** How long `close` waits for a worker to write its code cache. */
const CODE_CACHE_WAIT_MS = 3000;

/**
 * Worker threads that run service handlers, one message at a time each, so the CPU-bound stages
 * (parsing, sharding, matching, encoding) use every core. The job store and the bus stay in the
 * main thread; workers reach them by message passing.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: {
    queue: QueueName;
    envelope: Envelope;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private nextId = 1;
  private closed = false;
  private boot: WorkerBoot | null = null;
  /**
   * Why the workers could not start: the boot's promise rejected, or a worker failed before its
   * module had loaded (a worker that cannot load would fail again each time it was replaced).
   */
  private failure: Error | null = null;
  /** Settles once the workers are spawned (or the pool closed first). */
  private readonly started: Promise<void>;

  /**
   * `boot` may be a promise (e.g. a bundle being checked or built): messages queue meanwhile, and
   * the workers start as soon as it settles.
   */
  constructor(
    private readonly options: {
      size: number;
      boot: WorkerBoot | Promise<WorkerBoot>;
      workerData: unknown;
      rpc: RpcServer;
      /** Log lines the workers send (see WorkerToMain `log`). */
      onLog?: (line: string) => void;
    },
  ) {
    this.started = Promise.resolve(options.boot).then(
      (boot) => {
        if (this.closed) return;
        this.boot = boot;
        for (let k = 0; k < options.size; k++) this.slots.push(this.spawn());
        this.dispatch();
      },
      (error: unknown) => {
        this.refuseAll(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  get size(): number {
    return this.options.size;
  }

  /** Why the workers could not start, once known (every task is refused then). */
  get startFailure(): Error | null {
    return this.failure;
  }

  /** A consumer for one queue whose messages run on this pool. */
  consumerFor(queue: QueueName): QueueConsumer {
    return { concurrency: this.size, deliver: (envelope) => this.run(queue, envelope) };
  }

  run(queue: QueueName, envelope: Envelope): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ queue, envelope, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started;
    await this.writeCodeCache();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * Whether the pool's workers were compiled without a code cache written after a run, and one of
   * them has run tasks since: that worker (the one that ran the most, idle) writes its bundle's
   * code cache as its code is now, with the functions compiled for the tasks, for the workers of
   * the next pools (bundle-loader.mjs). Best effort: a worker that does not answer in time is
   * terminated as the others.
   */
  private async writeCodeCache(): Promise<void> {
    if (this.failure !== null || this.slots.some((s) => s.codeCacheAfterRun === true)) return;
    const candidates = this.slots.filter(
      (s) => s.ready && s.codeCacheAfterRun === false && s.task === null && s.tasksRun > 0,
    );
    if (candidates.length === 0) return;
    const slot = candidates.reduce((a, b) => (b.tasksRun > a.tasksRun ? b : a));
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CODE_CACHE_WAIT_MS);
      slot.cacheWritten = () => resolve();
      slot.worker.postMessage({ kind: 'write-code-cache' } satisfies MainToWorker);
    });
    clearTimeout(timer);
  }

  /** A worker failed before its module loaded: no worker is started again, every task is refused. */
  private failStart(error: Error): void {
    const failure = new ReconError('INTERNAL', `the worker threads could not start: ${error.message}`);
    failure.stack = `${failure.name}: ${failure.message}\n${error.stack ?? ''}`;
    this.refuseAll(failure);
  }

  /** The workers cannot start: their tasks, the waiting ones and every later one are refused. */
  private refuseAll(failure: Error): void {
    this.failure = failure;
    for (const slot of this.slots) {
      slot.task?.reject(failure);
      slot.task = null;
      void slot.worker.terminate();
    }
    for (const task of this.waiting.splice(0)) task.reject(failure);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.task !== null) continue;
      const next = this.waiting.shift()!;
      const id = this.nextId++;
      slot.task = { id, resolve: next.resolve, reject: next.reject };
      slot.worker.postMessage({
        kind: 'task',
        id,
        queue: next.queue,
        envelope: next.envelope,
      } satisfies MainToWorker);
    }
  }

  private spawn(): Slot {
    // A large young generation: parsing creates millions of short-lived strings, and the default
    // (16 MiB) made the scavenger promote them, doubling the cost of garbage collection.
    //
    // A large initial old generation: a worker's live heap is small (about 13 MiB), so V8 shrinks
    // its old-space limit to about 30 MiB, and each chunk or shard then starts a full mark-compact
    // (some 50 per worker in a 1M-line job, with their concurrent marking on the two cores the
    // workers need). The worker's `resourceLimits` can only set maximums; the initial size is a
    // V8 flag, read when an isolate is created, so it is set here, before each worker starts. It
    // only raises the point where the first full collections begin; the maximum is unchanged.
    setFlagsFromString(`--initial-old-space-size=${INITIAL_OLD_SPACE_MB}`);
    // Where V8's optimizing compiler runs. By default it compiles a hot function on a background
    // thread while the worker goes on in the slower tiers; when the workers already fill every
    // core, that thread waits for a core, and the first chunks and shards of a job ran unoptimized
    // for much longer than the compilation takes. Compiling on the worker itself was faster: on
    // the 1M-line day (2 cores, 2 workers) cold jobs took 4–10% less time and 6–10% less CPU, in
    // rounds interleaved with the background compiler's. Read when a worker's isolate is created;
    // a pool with cores to spare keeps the background compiler. The flag is process-wide: pools
    // of different sizes starting at once could each give the other's workers its setting.
    setFlagsFromString(
      this.options.size >= availableParallelism()
        ? '--no-concurrent-recompilation'
        : '--concurrent-recompilation',
    );
    const boot = this.boot!;
    const worker = new Worker(boot.url, {
      workerData: this.options.workerData,
      ...(boot.execArgv === undefined ? {} : { execArgv: boot.execArgv }),
      ...(boot.argv === undefined ? {} : { argv: boot.argv }),
      resourceLimits: { maxYoungGenerationSizeMb: 192 },
    });
    const slot: Slot = { worker, task: null, ready: false, tasksRun: 0 };
    worker.on('message', (message: WorkerToMain) => {
      if (message.kind === 'ready') {
        slot.ready = true;
        slot.codeCacheAfterRun = message.codeCacheAfterRun;
        return;
      }
      if (message.kind === 'code-cache-written') {
        slot.cacheWritten?.(message.ok);
        slot.cacheWritten = undefined;
        return;
      }
      if (message.kind === 'log') {
        if (this.options.onLog === undefined) process.stderr.write(message.line);
        else this.options.onLog(message.line);
        return;
      }
      if (message.kind === 'done') {
        const task = slot.task;
        slot.task = null;
        slot.tasksRun++;
        if (task !== null) {
          if (message.ok) task.resolve();
          else task.reject(fromWireError(message.error));
        }
        this.dispatch();
        return;
      }
      this.options.rpc(message.target, message.method, message.args).then(
        (value) =>
          worker.postMessage({ kind: 'rpc-result', id: message.id, ok: true, value } satisfies MainToWorker),
        (error: unknown) =>
          worker.postMessage({
            kind: 'rpc-result',
            id: message.id,
            ok: false,
            error: toWireError(error),
          } satisfies MainToWorker),
      );
    });
    const replace = (error: Error) => {
      if (this.closed || this.failure !== null) return;
      if (!slot.ready) {
        this.failStart(error);
        return;
      }
      const task = slot.task;
      slot.task = null;
      task?.reject(error);
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots[index] = this.spawn();
      this.dispatch();
    };
    worker.on('error', replace);
    worker.on('exit', (code) => replace(new Error(`worker exited with code ${code}`)));
    return slot;
  }
}
