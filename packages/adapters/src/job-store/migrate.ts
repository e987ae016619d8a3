import { ReconError } from '@recon/contracts';
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import { isTransient } from '../postgres/connection.ts';
import { JOB_STORE_MIGRATIONS } from './migrations/index.ts';

/** Where kysely records the applied migrations (the schema version). */
export const JOB_STORE_MIGRATION_TABLE = 'job_store_migration';
const JOB_STORE_MIGRATION_LOCK_TABLE = 'job_store_migration_lock';
/** pg_advisory_lock key of the job store's migrations (an arbitrary constant, unique to them). */
export const MIGRATION_ADVISORY_LOCK = 7_302_114_862_519_041n;

/** One schema that migrates on its own: its migrations, bookkeeping tables and advisory lock. */
export interface MigrationSet {
  /** For messages: "job store", "read model". */
  name: string;
  migrations: Readonly<Record<string, Migration>>;
  table: string;
  lockTable: string;
  advisoryLock: bigint;
}

export const JOB_STORE_MIGRATION_SET: MigrationSet = {
  name: 'job store',
  migrations: JOB_STORE_MIGRATIONS,
  table: JOB_STORE_MIGRATION_TABLE,
  lockTable: JOB_STORE_MIGRATION_LOCK_TABLE,
  advisoryLock: MIGRATION_ADVISORY_LOCK,
};

/**
 * Brings the schema to the latest version; returns the names of the migrations it applied (none
 * when already there). Safe when several processes start at once: they take turns on a
 * session-level advisory lock, held on one connection for the whole run. Kysely's Migrator takes
 * its own lock only around applying migrations, after creating its bookkeeping tables
 * unguarded (it tolerates that race by re-checking); taking ours first keeps the whole run
 * one-at-a-time.
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  set: MigrationSet = JOB_STORE_MIGRATION_SET,
): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${sql.lit(set.advisoryLock)})`.execute(conn);
    try {
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: async () => ({ ...set.migrations }) },
        migrationTableName: set.table,
        migrationLockTableName: set.lockTable,
      });
      const { error, results = [] } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results.find((r) => r.status === 'Error')?.migrationName;
        throw new ReconError(
          'INTERNAL',
          `${set.name} migration${failed === undefined ? '' : ` ${failed}`} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, transient: isTransient(error) },
        );
      }
      return results.map((r) => r.migrationName);
    } finally {
      // A lost connection releases the lock by itself: nothing to add to the original error.
      await sql`SELECT pg_advisory_unlock(${sql.lit(set.advisoryLock)})`.execute(conn).catch(() => {});
    }
  });
}
