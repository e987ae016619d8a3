import { LocalFolderStore } from '@recon/adapters/embedded';
import { pgBaseReader } from '@recon/adapters/postgres/base-reader';
import {
  type Clock,
  type ObjectBody,
  type ObjectStore,
  ReconError,
  type ReportSink,
  type ServiceContext,
} from '@recon/contracts';

export interface ProcessPorts {
  /** Root of the object store (the `--out` folder). */
  storeRoot: string;
  /** Root of the ingress store: vendor files and CSV snapshots are keys below it. */
  ingressRoot: string;
  databaseUrl: string | null;
  /** PostgreSQL of the read model (`recon serve`): the reporter loads each job there. */
  readModelUrl?: string | null;
  /** A fixed "now" (ISO) for reproducible runs; null for the system clock. */
  fixedNow: string | null;
  /**
   * TEST ONLY: the object store's `put` of a key containing `keyIncludes` fails with a transient
   * error (as S3 503 SlowDown would) `times` times in all — counted across every thread in
   * `counter` (an Int32Array over a SharedArrayBuffer). Never set in production.
   */
  testPutFaults?: { keyIncludes: string; times: number; counter: Int32Array };
}

export function clockOf(fixedNow: string | null): Clock {
  if (fixedNow === null) return { now: () => new Date() };
  const at = new Date(fixedNow);
  return { now: () => new Date(at) };
}

/** The read model, connected on first use (threads that never report never load pg for it). */
export function lazyReportSink(url: string): ReportSink {
  let model: Promise<ReportSink> | undefined;
  return {
    load: async (summary, rows) => {
      model ??= import('@recon/adapters/read-model').then(
        (m) => new m.PostgresReadModel(url, { poolSize: 2 }),
      );
      return (await model).load(summary, rows);
    },
  };
}

/** The ports every thread builds for itself from plain settings. */
export function localPorts(
  ports: ProcessPorts,
): Pick<ServiceContext, 'store' | 'ingress' | 'clock' | 'base' | 'reports'> {
  return {
    store:
      ports.testPutFaults === undefined
        ? new LocalFolderStore(ports.storeRoot)
        : withPutFaults(new LocalFolderStore(ports.storeRoot), ports.testPutFaults),
    ingress: new LocalFolderStore(ports.ingressRoot),
    clock: clockOf(ports.fixedNow),
    ...(ports.databaseUrl === null ? {} : { base: pgBaseReader(ports.databaseUrl) }),
    ...(ports.readModelUrl == null ? {} : { reports: lazyReportSink(ports.readModelUrl) }),
  };
}

/** TEST ONLY: see `ProcessPorts.testPutFaults`. */
function withPutFaults(store: ObjectStore, faults: NonNullable<ProcessPorts['testPutFaults']>): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'put') {
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (key: string, body: ObjectBody) => {
        if (key.includes(faults.keyIncludes) && Atomics.add(faults.counter, 0, 1) < faults.times) {
          throw new ReconError(
            'INTERNAL',
            `TEST ONLY: injected transient failure (503 SlowDown) writing ${key}`,
            {
              transient: true,
            },
          );
        }
        return target.put(key, body);
      };
    },
  });
}
