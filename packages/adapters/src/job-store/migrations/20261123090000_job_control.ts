import { type Kysely, sql } from 'kysely';

/**
 * Job control (RULES §7, issue 4). Frozen once released, like every migration.
 *
 * - `job_date_locks`: one job per reference date at a time. A row names the job that claimed the
 *   date; the claim is free again once that job has ended (no release step to forget when a
 *   process dies), and a claim is decided under the row's lock (see claimReferenceDate).
 * - `jobs_file_sha256_idx`: idempotency looks up the jobs of a file by its SHA-256 (carried by the
 *   request when the file drop hashed it, else the fact ingest records) and their status.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('job_date_locks')
    .addColumn('reference_date', 'text', (col) => col.primaryKey())
    .addColumn('job_id', 'text', (col) => col.notNull())
    .addColumn('claimed_at', 'timestamptz', (col) => col.notNull())
    .execute();
  await sql`CREATE INDEX jobs_file_sha256_idx ON jobs ((COALESCE(request->>'fileSha256', facts->>'file_sha256')), status)`.execute(
    db,
  );
  // The deadline sweeper lists open jobs: few rows among many ended ones.
  await sql`CREATE INDEX jobs_open_idx ON jobs (created_at) WHERE status NOT IN ('SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS jobs_open_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS jobs_file_sha256_idx`.execute(db);
  await db.schema.dropTable('job_date_locks').ifExists().execute();
}
