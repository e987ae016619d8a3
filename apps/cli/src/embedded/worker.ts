import { parentPort, workerData } from 'node:worker_threads';
import { fromWireError, type MainToWorker, toWireError, type WorkerToMain } from '@recon/adapters/embedded';
import { createReconLogger, jobLogger, type ReconLogLevel } from '@recon/adapters/logger';
import { EVENT_SCHEMAS, type EventPublisher, type JobStore, type ServiceContext } from '@recon/contracts';
import { localPorts, type ProcessPorts } from './context.ts';
import { pooledHandlers, type ServiceOptions } from './services.ts';

export interface WorkerConfig {
  ports: ProcessPorts;
  options: ServiceOptions;
  logLevel: ReconLogLevel;
  /** Send log lines to the main thread (which has a destination for them) instead of stderr. */
  forwardLogs: boolean;
}

const config = workerData as WorkerConfig;
const port = parentPort!;
const handlers = pooledHandlers(config.options);
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextCall = 1;

/** Ports that live in the main thread are reached by message passing. */
function remote<T extends object>(target: string): T {
  return new Proxy({} as T, {
    get:
      (_t, method) =>
      (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          const id = nextCall++;
          calls.set(id, { resolve, reject });
          port.postMessage({ kind: 'rpc', id, target, method: String(method), args } satisfies WorkerToMain);
        }),
  });
}

const ctx: ServiceContext = {
  ...localPorts(config.ports),
  jobs: remote<JobStore>('jobs'),
  events: remote<EventPublisher>('events'),
  log: createReconLogger({
    level: config.logLevel,
    base: { service: 'recon', thread: 'worker' },
    ...(config.forwardLogs
      ? { destination: (line: string) => port.postMessage({ kind: 'log', line } satisfies WorkerToMain) }
      : {}),
  }),
};
const log = ctx.log as ReturnType<typeof createReconLogger>;

/** What the loader of the bundle this worker runs from offers (bundle-loader.mjs), if any. */
const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('recon.worker.codeCache')] as
  | { afterRun: boolean; write(): boolean }
  | undefined;

port.on('message', (message: MainToWorker) => {
  if (message.kind === 'write-code-cache') {
    port.postMessage({ kind: 'code-cache-written', ok: codeCache?.write() ?? false } satisfies WorkerToMain);
    return;
  }
  if (message.kind === 'rpc-result') {
    const call = calls.get(message.id);
    calls.delete(message.id);
    if (message.ok) call?.resolve(message.value);
    else call?.reject(fromWireError(message.error));
    return;
  }
  const { id, queue, envelope } = message;
  const run = async () => {
    const handler = handlers[queue]?.[envelope.type];
    if (handler === undefined) throw new Error(`no handler for ${envelope.type} on queue ${queue}`);
    const started = performance.now();
    const jobLog = jobLogger(log, { jobId: envelope.correlationId, stage: queue, event: envelope.type });
    await handler({ ...ctx, log: jobLog }, EVENT_SCHEMAS[envelope.type].parse(envelope.payload));
    jobLog.info({ event_id: envelope.id, duration_ms: Math.round(performance.now() - started) }, 'handled');
  };
  run().then(
    () => port.postMessage({ kind: 'done', id, ok: true } satisfies WorkerToMain),
    (error: unknown) =>
      port.postMessage({ kind: 'done', id, ok: false, error: toWireError(error) } satisfies WorkerToMain),
  );
});

// Loaded: from now on a crash of this worker replaces it (see WorkerPool).
port.postMessage({ kind: 'ready', codeCacheAfterRun: codeCache?.afterRun ?? null } satisfies WorkerToMain);
