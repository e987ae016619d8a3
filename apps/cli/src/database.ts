import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters/postgres';
import type { Env } from './config.ts';

/**
 * The database URL to use: the option, else DATABASE_URL, else an embedded PostgreSQL that recon
 * starts itself (data under RECON_PG_DIR) and stops when `fn` ends.
 */
export async function withDatabase<T>(
  env: Env,
  urlOption: string | undefined,
  fn: (url: string, embedded: boolean) => Promise<T>,
  onStart?: (dataDir: string) => void,
): Promise<T> {
  const url = urlOption ?? env.DATABASE_URL;
  if (url !== undefined) return fn(url, false);
  onStart?.(env.RECON_PG_DIR);
  const server: PostgresHandle = await startEmbeddedPostgres({ dataDir: env.RECON_PG_DIR });
  const stop = () => void server.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await fn(server.url, true);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await server.stop();
  }
}
