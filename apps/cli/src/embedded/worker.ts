import { parentPort, workerData } from 'node:worker_threads';
import {
  createLogger,
  fromWireError,
  type LogLevel,
  type MainToWorker,
  toWireError,
  type WorkerToMain,
} from '@recon/adapters';
import { EVENT_SCHEMAS, type EventPublisher, type JobStore, type ServiceContext } from '@recon/contracts';
import { localPorts, type ProcessPorts } from './context.ts';
import { pooledHandlers, type ServiceOptions } from './services.ts';

export interface WorkerConfig {
  ports: ProcessPorts;
  options: ServiceOptions;
  logLevel: LogLevel;
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
  log: createLogger(config.logLevel),
};

port.on('message', (message: MainToWorker) => {
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
    await handler(ctx, EVENT_SCHEMAS[envelope.type].parse(envelope.payload));
  };
  run().then(
    () => port.postMessage({ kind: 'done', id, ok: true } satisfies WorkerToMain),
    (error: unknown) =>
      port.postMessage({ kind: 'done', id, ok: false, error: toWireError(error) } satisfies WorkerToMain),
  );
});
