import type { JobListFilter, JobRecord, JobRequested, JobStatus } from '@recon/contracts';
import { type Kysely, sql, type Transaction } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { JobStoreDatabase } from './tables.ts';

/**
 * The job store's queries, as plain functions over a database or a transaction; the store
 * (postgres.ts) decides which of them run together in one transaction.
 */
export type JobStoreDb = Kysely<JobStoreDatabase> | Transaction<JobStoreDatabase>;

// ---- jobs ----

/** Inserts the job unless it exists; true when inserted. */
export async function insertJob(db: JobStoreDb, request: JobRequested, at: string): Promise<boolean> {
  const row = await db
    .insertInto('jobs')
    .values({
      id: request.jobId,
      request: JSON.stringify(request),
      status: 'RECEIVED',
      created_at: at,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The job's status, with its row locked until the transaction ends; undefined when unknown. */
export async function lockJob(db: JobStoreDb, jobId: string): Promise<{ status: JobStatus } | undefined> {
  return db.selectFrom('jobs').select('status').where('id', '=', jobId).forUpdate().executeTakeFirst();
}

export async function updateJobStatus(
  db: JobStoreDb,
  jobId: string,
  status: JobStatus,
  error?: JobRecord['error'],
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ status, ...(error === undefined ? {} : { error: error === null ? null : JSON.stringify(error) }) })
    .where('id', '=', jobId)
    .execute();
}

export async function appendStatusHistory(
  db: JobStoreDb,
  jobId: string,
  status: JobStatus,
  at: string,
): Promise<void> {
  await db.insertInto('job_status_history').values({ job_id: jobId, status, at }).execute();
}

/** Widens the stage's span to cover [startedAt, finishedAt] in one statement (atomic per row). */
export async function widenStageSpan(
  db: JobStoreDb,
  jobId: string,
  stage: string,
  startedAt: string,
  finishedAt: string,
): Promise<void> {
  await db
    .insertInto('job_stage_spans')
    .values({ job_id: jobId, stage, started_at: startedAt, finished_at: finishedAt })
    .onConflict((oc) =>
      oc.columns(['job_id', 'stage']).doUpdateSet({
        started_at: sql`LEAST(job_stage_spans.started_at, excluded.started_at)`,
        finished_at: sql`GREATEST(job_stage_spans.finished_at, excluded.finished_at)`,
      }),
    )
    .execute();
}

/** Shallow-merges the facts into the job's (jsonb `||`); false when the job is unknown. */
export async function mergeJobFacts(
  db: JobStoreDb,
  jobId: string,
  facts: Record<string, unknown>,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ facts: sql`facts || ${JSON.stringify(facts)}::jsonb` })
    .where('id', '=', jobId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The whole record in one statement, so it is one consistent snapshot. */
/** The ids of the jobs matching `filter`, newest first, and how many match in all. */
export async function selectJobIds(
  db: JobStoreDb,
  filter: JobListFilter,
): Promise<{ ids: string[]; total: number }> {
  let q = db.selectFrom('jobs as j');
  if (filter.dtFrom !== undefined) q = q.where(sql<string>`j.request->>'referenceDate'`, '>=', filter.dtFrom);
  if (filter.dtTo !== undefined) q = q.where(sql<string>`j.request->>'referenceDate'`, '<=', filter.dtTo);
  if (filter.status !== undefined) q = q.where('j.status', '=', filter.status);
  const [rows, count] = await Promise.all([
    q
      .select('j.id')
      .orderBy('j.created_at', 'desc')
      .orderBy('j.id', 'desc')
      .offset(filter.offset)
      .limit(filter.limit)
      .execute(),
    q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { ids: rows.map((r) => r.id), total: Number(count.n) };
}

export async function selectJob(db: JobStoreDb, jobId: string): Promise<JobRecord | undefined> {
  const row = await db
    .selectFrom('jobs as j')
    .select((eb) => [
      'j.id',
      'j.request',
      'j.status',
      'j.error',
      'j.facts',
      jsonArrayFrom(
        eb
          .selectFrom('job_status_history as h')
          .select(['h.status', 'h.at'])
          .whereRef('h.job_id', '=', 'j.id')
          .orderBy('h.seq'),
      ).as('history'),
      jsonArrayFrom(
        eb
          .selectFrom('job_stage_spans as s')
          .select(['s.stage', 's.started_at', 's.finished_at'])
          .whereRef('s.job_id', '=', 'j.id'),
      ).as('stages'),
    ])
    .where('j.id', '=', jobId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    jobId: row.id,
    request: row.request,
    status: row.status,
    history: row.history.map((h) => ({ status: h.status, at: isoTime(h.at) })),
    stages: Object.fromEntries(
      row.stages.map((s) => [
        s.stage,
        { startedAt: isoTime(s.started_at), finishedAt: isoTime(s.finished_at) },
      ]),
    ),
    facts: row.facts,
    error: row.error,
  };
}

/** Times come back as UTC ISO strings with milliseconds, whatever the session's time zone. */
function isoTime(value: string | Date): string {
  return new Date(value).toISOString();
}

// ---- barriers ----

export interface BarrierState {
  expected: number | null;
  fired: boolean;
}

/**
 * Creates the barrier row if missing, then locks it until the transaction ends (FOR UPDATE):
 * every transaction that changes a barrier passes through here first, so they run one at a time
 * per barrier. See PostgresJobStore.settleBarrier for why.
 */
export async function lockBarrier(db: JobStoreDb, jobId: string, barrier: string): Promise<BarrierState> {
  await db
    .insertInto('job_barriers')
    .values({ job_id: jobId, name: barrier })
    .onConflict((oc) => oc.doNothing())
    .execute();
  return db
    .selectFrom('job_barriers')
    .select(['expected', 'fired'])
    .where('job_id', '=', jobId)
    .where('name', '=', barrier)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function setBarrierExpected(
  db: JobStoreDb,
  jobId: string,
  barrier: string,
  expected: number,
): Promise<void> {
  await db
    .updateTable('job_barriers')
    .set({ expected })
    .where('job_id', '=', jobId)
    .where('name', '=', barrier)
    .execute();
}

/** Records a completed unit; a unit completed before keeps its first data. */
export async function insertBarrierUnit(
  db: JobStoreDb,
  jobId: string,
  barrier: string,
  unit: string,
  data: unknown,
): Promise<void> {
  await db
    .insertInto('job_barrier_units')
    // JSON.stringify(undefined) is undefined: store a JSON null instead.
    .values({ job_id: jobId, barrier, unit, data: JSON.stringify(data) ?? 'null' })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function countBarrierUnits(db: JobStoreDb, jobId: string, barrier: string): Promise<number> {
  const row = await db
    .selectFrom('job_barrier_units')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('job_id', '=', jobId)
    .where('barrier', '=', barrier)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Flips `fired`; true only for the call that flipped it. */
export async function markBarrierFired(db: JobStoreDb, jobId: string, barrier: string): Promise<boolean> {
  const result = await db
    .updateTable('job_barriers')
    .set({ fired: true, fired_at: sql<string>`now()` })
    .where('job_id', '=', jobId)
    .where('name', '=', barrier)
    .where('fired', '=', false)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function selectBarrierUnits<T>(
  db: JobStoreDb,
  jobId: string,
  barrier: string,
): Promise<{ unit: string; data: T }[]> {
  const rows = await db
    .selectFrom('job_barrier_units')
    .select(['unit', 'data'])
    .where('job_id', '=', jobId)
    .where('barrier', '=', barrier)
    .orderBy('unit')
    .execute();
  return rows.map((r) => ({ unit: r.unit, data: r.data as T }));
}

// ---- processed messages ----

/** Records the message key; false when it was recorded before. */
export async function insertProcessedMessage(db: JobStoreDb, key: string): Promise<boolean> {
  const row = await db
    .insertInto('processed_messages')
    .values({ key })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export async function selectProcessedMessage(db: JobStoreDb, key: string): Promise<boolean> {
  const row = await db
    .selectFrom('processed_messages')
    .select('key')
    .where('key', '=', key)
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteProcessedMessage(db: JobStoreDb, key: string): Promise<void> {
  await db.deleteFrom('processed_messages').where('key', '=', key).execute();
}

// ---- job control (RULES §7) ----

const ENDED_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'] as const;

/**
 * Claims the reference date for `jobId` under the date row's lock: null when the claim holds
 * (free, held by a job that ended or by no job any more, or already `jobId`'s), else the holder.
 */
export async function claimDate(
  db: JobStoreDb,
  referenceDate: string,
  jobId: string,
  at: string,
): Promise<string | null> {
  await db
    .insertInto('job_date_locks')
    .values({ reference_date: referenceDate, job_id: jobId, claimed_at: at })
    .onConflict((oc) => oc.column('reference_date').doNothing())
    .execute();
  const row = await db
    .selectFrom('job_date_locks as l')
    .leftJoin('jobs as j', 'j.id', 'l.job_id')
    .select(['l.job_id', 'j.status'])
    .where('l.reference_date', '=', referenceDate)
    .forUpdate('l')
    .executeTakeFirstOrThrow();
  if (row.job_id === jobId) return null;
  if (row.status !== null && !(ENDED_STATUSES as readonly string[]).includes(row.status)) return row.job_id;
  await db
    .updateTable('job_date_locks')
    .set({ job_id: jobId, claimed_at: at })
    .where('reference_date', '=', referenceDate)
    .execute();
  return null;
}

/** The oldest SUCCEEDED or open job of the file with this SHA-256 (jobs_file_sha256_idx). */
export async function selectFileJob(
  db: JobStoreDb,
  sha256: string,
): Promise<{ jobId: string; status: JobStatus } | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select(['id', 'status'])
    .where(sql<string>`COALESCE(request->>'fileSha256', facts->>'file_sha256')`, '=', sha256)
    .where('status', 'not in', ['FAILED', 'TIMEOUT', 'CANCELLED'])
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : { jobId: row.id, status: row.status };
}

/** Sets an ended job's status back to an open one and clears its error. */
export async function reopenJobRow(db: JobStoreDb, jobId: string, status: JobStatus): Promise<void> {
  await db.updateTable('jobs').set({ status, error: null }).where('id', '=', jobId).execute();
}

/** Forgets the named barriers of a job (their units go with them: ON DELETE CASCADE). */
export async function deleteBarriers(db: JobStoreDb, jobId: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await db.deleteFrom('job_barriers').where('job_id', '=', jobId).where('name', 'in', names).execute();
}

/**
 * Forgets the processed-message keys of a job's messages (`<queue>:<event id>`, the notifier's
 * `notify:<event id>#<channel>`: every event id of a job holds its id), so a reprocessed job's
 * messages, which reuse their deterministic ids, are handled again.
 */
export async function deleteJobProcessedMessages(db: JobStoreDb, jobId: string): Promise<void> {
  await db.deleteFrom('processed_messages').where(sql<number>`strpos(key, ${jobId})`, '>', 0).execute();
}

/** Appends one item to the job's `facts[key]` array in one statement (atomic per row). */
export async function appendFactItem(
  db: JobStoreDb,
  jobId: string,
  key: string,
  item: unknown,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({
      facts: sql`jsonb_set(facts, ARRAY[${key}]::text[], COALESCE(facts->${key}, '[]'::jsonb) || jsonb_build_array(${JSON.stringify(item)}::jsonb))`,
    })
    .where('id', '=', jobId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The ids of the jobs that have not ended (jobs_open_idx), oldest first. */
export async function selectOpenJobIds(db: JobStoreDb): Promise<string[]> {
  const rows = await db
    .selectFrom('jobs')
    .select('id')
    .where('status', 'not in', [...ENDED_STATUSES])
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.id);
}
