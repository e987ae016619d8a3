import { ReconError } from '@recon/contracts';
import { type Kysely, Migrator, sql } from 'kysely';
import { isTransient } from '../postgres/connection.ts';
import { JOB_STORE_MIGRATIONS } from './migrations/index.ts';

/** Where kysely records the applied migrations (the schema version). */
export const JOB_STORE_MIGRATION_TABLE = 'job_store_migration';
const JOB_STORE_MIGRATION_LOCK_TABLE = 'job_store_migration_lock';
/** pg_advisory_lock key of the job store's migrations (an arbitrary constant, unique to them). */
export const MIGRATION_ADVISORY_LOCK = 7_302_114_862_519_041n;

/**
 * Brings the schema to the latest version; returns the names of the migrations it applied (none
 * when already there). Safe when several processes start at once: they take turns on a
 * session-level advisory lock, held on one connection for the whole run. Kysely's Migrator takes
 * its own lock only around applying migrations, after creating its bookkeeping tables
 * unguarded (it tolerates that race by re-checking); taking ours first keeps the whole run
 * one-at-a-time.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${sql.lit(MIGRATION_ADVISORY_LOCK)})`.execute(conn);
    try {
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: async () => ({ ...JOB_STORE_MIGRATIONS }) },
        migrationTableName: JOB_STORE_MIGRATION_TABLE,
        migrationLockTableName: JOB_STORE_MIGRATION_LOCK_TABLE,
      });
      const { error, results = [] } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results.find((r) => r.status === 'Error')?.migrationName;
        throw new ReconError(
          'INTERNAL',
          `job store migration${failed === undefined ? '' : ` ${failed}`} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, transient: isTransient(error) },
        );
      }
      return results.map((r) => r.migrationName);
    } finally {
      // A lost connection releases the lock by itself: nothing to add to the original error.
      await sql`SELECT pg_advisory_unlock(${sql.lit(MIGRATION_ADVISORY_LOCK)})`.execute(conn).catch(() => {});
    }
  });
}
