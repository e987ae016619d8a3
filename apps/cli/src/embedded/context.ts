import { LocalFolderStore } from '@recon/adapters/embedded';
import { extractBase } from '@recon/adapters/postgres';
import type { BaseReader, Clock, ServiceContext } from '@recon/contracts';

export interface ProcessPorts {
  /** Root of the object store (the `--out` folder). */
  storeRoot: string;
  /** Root of the ingress store: vendor files and CSV snapshots are keys below it. */
  ingressRoot: string;
  databaseUrl: string | null;
  /** A fixed "now" (ISO) for reproducible runs; null for the system clock. */
  fixedNow: string | null;
}

export function clockOf(fixedNow: string | null): Clock {
  if (fixedNow === null) return { now: () => new Date() };
  const at = new Date(fixedNow);
  return { now: () => new Date(at) };
}

export function pgBaseReader(url: string): BaseReader {
  return {
    read: (relation, scope, slice) =>
      extractBase({ url, relation, scope, ...(slice === undefined ? {} : { slice }) }),
  };
}

/** The ports every thread builds for itself from plain settings. */
export function localPorts(
  ports: ProcessPorts,
): Pick<ServiceContext, 'store' | 'ingress' | 'clock' | 'base'> {
  return {
    store: new LocalFolderStore(ports.storeRoot),
    ingress: new LocalFolderStore(ports.ingressRoot),
    clock: clockOf(ports.fixedNow),
    ...(ports.databaseUrl === null ? {} : { base: pgBaseReader(ports.databaseUrl) }),
  };
}
