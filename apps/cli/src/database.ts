import {
  type PostgresHandle,
  runningEmbeddedPostgres,
  startEmbeddedPostgres,
} from '@recon/adapters/postgres';
import type { Env } from './config.ts';

/**
 * The database URL to use: the option, else DATABASE_URL, else the embedded PostgreSQL under
 * RECON_PG_DIR: the one another recon process runs there (e.g. `recon serve`: `recon keys create`
 * beside it), else one that recon starts itself and stops when `fn` ends.
 */
export async function withDatabase<T>(
  env: Env,
  urlOption: string | undefined,
  fn: (url: string, embedded: boolean) => Promise<T>,
  onStart?: (dataDir: string) => void,
): Promise<T> {
  const url = urlOption ?? env.DATABASE_URL;
  if (url !== undefined) return fn(url, false);
  const running = await runningEmbeddedPostgres(env.RECON_PG_DIR);
  if (running !== undefined) return fn(running, true);
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
