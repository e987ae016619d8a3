import { type Kysely, sql } from 'kysely';

/**
 * The job store's first schema. A migration is frozen once released: it describes the database
 * as it was then, so it uses no types or constants from the rest of the code (a later change to
 * them must come with a new migration).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('request', 'jsonb', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .check(
          sql`status IN ('RECEIVED', 'VALIDATING', 'PARTITIONING', 'MATCHING', 'REPORTING', 'SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED')`,
        ),
    )
    .addColumn('error', 'jsonb')
    .addColumn('facts', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('job_status_history')
    // Keeps the order of changes even when two share a timestamp.
    .addColumn('seq', 'bigint', (col) => col.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('job_id', 'text', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('job_status_history_job_id_seq_idx')
    .on('job_status_history')
    .columns(['job_id', 'seq'])
    .execute();

  await db.schema
    .createTable('job_stage_spans')
    .addColumn('job_id', 'text', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('stage', 'text', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull())
    .addColumn('finished_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('job_stage_spans_pkey', ['job_id', 'stage'])
    .execute();

  // No foreign key to jobs: like the in-memory store, a barrier does not require its job row.
  await db.schema
    .createTable('job_barriers')
    .addColumn('job_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('expected', 'integer', (col) => col.check(sql`expected >= 0`))
    .addColumn('fired', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('fired_at', 'timestamptz')
    .addPrimaryKeyConstraint('job_barriers_pkey', ['job_id', 'name'])
    .execute();

  await db.schema
    .createTable('job_barrier_units')
    .addColumn('job_id', 'text', (col) => col.notNull())
    .addColumn('barrier', 'text', (col) => col.notNull())
    // Byte order whatever the database's default collation: units list in the same order as
    // JavaScript's string comparison (for the ASCII names used).
    .addColumn('unit', sql`text COLLATE "C"`, (col) => col.notNull())
    .addColumn('data', 'jsonb', (col) => col.notNull())
    .addColumn('completed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('job_barrier_units_pkey', ['job_id', 'barrier', 'unit'])
    .addForeignKeyConstraint(
      'job_barrier_units_barrier_fkey',
      ['job_id', 'barrier'],
      'job_barriers',
      ['job_id', 'name'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();

  await db.schema
    .createTable('processed_messages')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('processed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // For pruning old keys.
  await db.schema
    .createIndex('processed_messages_processed_at_idx')
    .on('processed_messages')
    .column('processed_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'processed_messages',
    'job_barrier_units',
    'job_barriers',
    'job_stage_spans',
    'job_status_history',
    'jobs',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
