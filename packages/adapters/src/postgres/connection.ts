import { ReconError } from '@recon/contracts';
import pg from 'pg';

/** `host:port/db` of a connection URL, for messages (never the password). */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    const port = parsed.port || parsed.searchParams.get('port') || '5432';
    const db = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username);
    return `${host}:${port}/${db}`;
  } catch {
    return 'the configured PostgreSQL URL';
  }
}

/** Node socket errors that a retry can outlive. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs worth a retry: connection exceptions (08), server shutting down or starting (57P0x),
 * too many connections / out of resources (53), serialization failure and deadlock (40).
 */
function isTransientSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || /^57P0[1-4]$/.test(code) || code.startsWith('40');
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TRANSIENT_SYSTEM_CODES.has(code)) return true;
    const state = sqlState(error);
    if (state !== undefined) return isTransientSqlState(state);
  }
  // pg's own errors for a dropped socket carry no code.
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout expired/i.test(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a driver error as BASE_UNAVAILABLE, transient when a retry can help. */
export function baseUnavailable(target: string, what: string, error: unknown): ReconError {
  if (error instanceof ReconError) return error;
  return new ReconError('BASE_UNAVAILABLE', `${what} at ${target} failed: ${messageOf(error)}`, {
    cause: error,
    transient: isTransient(error),
  });
}

/**
 * Opens a client. A failure to connect is BASE_UNAVAILABLE naming host:port/db; it is
 * transient unless the server answered that the credentials or the database are wrong.
 */
export async function openClient(url: string): Promise<{ client: pg.Client; target: string }> {
  const target = describeTarget(url);
  const client = new pg.Client({ connectionString: url });
  // An error on an idle client is emitted, not thrown: without a listener it would crash the
  // process. The pending query (if any) also fails and is reported from there.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const state = sqlState(error);
    const permanent = state !== undefined && (state.startsWith('28') || state === '3D000');
    throw new ReconError(
      'BASE_UNAVAILABLE',
      `cannot connect to PostgreSQL at ${target}: ${messageOf(error)}`,
      {
        cause: error,
        transient: !permanent,
      },
    );
  }
  return { client, target };
}

/** Ends a client; never throws (a client mid-COPY is disconnected by pg itself). */
export async function closeClient(client: pg.Client): Promise<void> {
  await client.end().catch(() => {});
}
