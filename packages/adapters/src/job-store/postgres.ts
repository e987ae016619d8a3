import type {
  EndedStatus,
  JobListFilter,
  JobQueries,
  JobRecord,
  JobRequested,
  JobStatus,
  JobStore,
} from '@recon/contracts';
import { ReconError } from '@recon/contracts';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { describeTarget, isTransient, sqlState } from '../postgres/connection.ts';
import { migrateToLatest } from './migrate.ts';
import {
  appendFactItem,
  appendStatusHistory,
  type BarrierState,
  claimDate,
  countBarrierUnits,
  deleteBarriers,
  deleteJobProcessedMessages,
  deleteProcessedMessage,
  insertBarrierUnit,
  insertJob,
  insertProcessedMessage,
  lockBarrier,
  lockJob,
  markBarrierFired,
  mergeJobFacts,
  reopenJobRow,
  selectBarrierUnits,
  selectFileJob,
  selectJob,
  selectJobIds,
  selectOpenJobIds,
  selectProcessedMessage,
  setBarrierExpected,
  updateJobStatus,
  widenStageSpan,
} from './repository.ts';
import type { JobStoreDatabase } from './tables.ts';

/** Statuses after which a job no longer changes (`fail` announces a failure once). */
const ENDED: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED']);
const DEFAULT_POOL_SIZE = 10;

/**
 * The job store of the distributed runtime: the same semantics as InMemoryJobStore, shared by
 * every process through PostgreSQL. Barriers are decided in one transaction per call, serialized
 * per barrier by a row lock (see settleBarrier).
 *
 * Errors: a lost or refused connection (server down or restarting, failover) is
 * ReconError('INTERNAL', 'job store unavailable: …', transient): the pool opens new connections
 * on the next call, so retrying the message is the remedy. A call that meets a pooled connection
 * the server already closed is retried on another when that is safe (see `transaction`). Other
 * failures are INTERNAL, not transient.
 */
export class PostgresJobStore implements JobStore, JobQueries {
  /** Attempts of a call whose connection turns out dead before anything ran (see `retryable`). */
  private readonly attempts: number;

  /** `poolSize`: connections of the db's pool, every one of which may be dead after a restart. */
  constructor(
    private readonly db: Kysely<JobStoreDatabase>,
    options: { poolSize?: number } = {},
  ) {
    this.attempts = (options.poolSize ?? DEFAULT_POOL_SIZE) + 1;
  }

  createJob(request: JobRequested, at: string): Promise<boolean> {
    return this.transaction('createJob', async (trx) => {
      if (!(await insertJob(trx, request, at))) return false;
      await appendStatusHistory(trx, request.jobId, 'RECEIVED', at);
      return true;
    });
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.idempotent('getJob', () => selectJob(this.db, jobId));
  }

  setStatus(jobId: string, status: JobStatus, at: string): Promise<void> {
    return this.transaction('setStatus', async (trx) => {
      const job = await lockJob(trx, jobId);
      if (job === undefined) throw unknownJob(jobId);
      // A job that ended stays ended: a late handler must not revive a TIMEOUT or FAILED job.
      if (job.status === status || ENDED.has(job.status)) return;
      await updateJobStatus(trx, jobId, status);
      await appendStatusHistory(trx, jobId, status, at);
    });
  }

  recordStageSpan(jobId: string, stage: string, startedAt: string, finishedAt: string): Promise<void> {
    return this.idempotent('recordStageSpan', async () => {
      try {
        await widenStageSpan(this.db, jobId, stage, startedAt, finishedAt);
      } catch (error) {
        if (sqlState(error) === '23503') throw unknownJob(jobId); // foreign_key_violation
        throw error;
      }
    });
  }

  mergeFacts(jobId: string, facts: Record<string, unknown>): Promise<void> {
    // Idempotent: merging the same facts twice gives the same facts.
    return this.idempotent('mergeFacts', async () => {
      if (!(await mergeJobFacts(this.db, jobId, facts))) throw unknownJob(jobId);
    });
  }

  fail(jobId: string, status: EndedStatus, error: JobRecord['error'], at: string): Promise<boolean> {
    return this.transaction('fail', async (trx) => {
      // The row lock makes "still open? then fail it" one step: of two concurrent failures,
      // the second sees the first's status and returns false.
      const job = await lockJob(trx, jobId);
      if (job === undefined || ENDED.has(job.status)) return false;
      await updateJobStatus(trx, jobId, status, error);
      await appendStatusHistory(trx, jobId, status, at);
      return true;
    });
  }

  /**
   * See JobStore.reopen. Also forgets the job's processed-message keys: a reprocessed job's
   * messages reuse their deterministic ids and must be handled again (and its outcome announced
   * again). One transaction under the job's row lock.
   */
  reopen(jobId: string, status: JobStatus, at: string, resetBarriers: readonly string[]): Promise<boolean> {
    return this.transaction('reopen', async (trx) => {
      const job = await lockJob(trx, jobId);
      if (job === undefined || job.status === 'SUCCEEDED' || !ENDED.has(job.status)) return false;
      await reopenJobRow(trx, jobId, status);
      await appendStatusHistory(trx, jobId, status, at);
      await deleteBarriers(trx, jobId, resetBarriers);
      await deleteJobProcessedMessages(trx, jobId);
      return true;
    });
  }

  /** See JobStore.claimReferenceDate: decided under the date row's lock (`job_date_locks`). */
  claimReferenceDate(referenceDate: string, jobId: string, at: string): Promise<string | null> {
    return this.transaction('claimReferenceDate', (trx) => claimDate(trx, referenceDate, jobId, at));
  }

  findFileJob(sha256: string): Promise<{ jobId: string; status: JobStatus } | undefined> {
    return this.idempotent('findFileJob', () => selectFileJob(this.db, sha256));
  }

  /**
   * Appends `item` to the job's `facts[key]` array atomically (concurrent processes recording
   * retries lose none). Not part of the port.
   */
  appendFact(jobId: string, key: string, item: unknown): Promise<void> {
    return this.transaction('appendFact', async (trx) => {
      if (!(await appendFactItem(trx, jobId, key, item))) throw unknownJob(jobId);
    });
  }

  /** The ids of the jobs that have not ended, oldest first (the deadline sweeper). Not part of the port. */
  openJobIds(): Promise<string[]> {
    return this.idempotent('openJobIds', () => selectOpenJobIds(this.db));
  }

  setExpected(jobId: string, barrier: string, expected: number): Promise<boolean> {
    return this.settleBarrier('setExpected', jobId, barrier, async (trx) => {
      await setBarrierExpected(trx, jobId, barrier, expected);
      return expected;
    });
  }

  completeUnit(jobId: string, barrier: string, unit: string, data: unknown): Promise<boolean> {
    return this.settleBarrier('completeUnit', jobId, barrier, async (trx, state) => {
      await insertBarrierUnit(trx, jobId, barrier, unit, data);
      return state.expected;
    });
  }

  listUnits<T>(jobId: string, barrier: string): Promise<{ unit: string; data: T }[]> {
    return this.idempotent('listUnits', () => selectBarrierUnits<T>(this.db, jobId, barrier));
  }

  /** Jobs newest first (the admin API's job list); see JobQueries. */
  listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; total: number }> {
    return this.idempotent('listJobs', async () => {
      const { ids, total } = await selectJobIds(this.db, filter);
      const jobs = await Promise.all(ids.map((id) => selectJob(this.db, id)));
      return { jobs: jobs.filter((j): j is JobRecord => j !== undefined), total };
    });
  }

  /**
   * Records that the message with this key was handled; false when it already was (or is being
   * handled by a transaction that commits first). Not part of the port: the distributed runtime
   * uses it to make handlers idempotent.
   */
  markProcessed(key: string): Promise<boolean> {
    // A transaction, not one statement: it is not idempotent, so it may only be retried when it
    // failed before it started (see `transaction`).
    return this.transaction('markProcessed', (trx) => insertProcessedMessage(trx, key));
  }

  /** Whether a message with this key was recorded as handled (markProcessed). */
  isProcessed(key: string): Promise<boolean> {
    return this.idempotent('isProcessed', () => selectProcessedMessage(this.db, key));
  }

  /** Forgets a processed-message key (a claim given back after its work failed). */
  releaseProcessed(key: string): Promise<void> {
    return this.idempotent('releaseProcessed', () => deleteProcessedMessage(this.db, key));
  }

  /**
   * One barrier decision, in one transaction: lock the barrier row, apply the change, count the
   * units, and fire if the barrier is complete and has not fired yet.
   *
   * Why the row lock (SELECT … FOR UPDATE) is needed under READ COMMITTED: each statement sees
   * only what was committed when it started, plus the transaction's own writes. Without the
   * lock, two processes completing the last two units each insert their unit and count before
   * the other commits: both count expected − 1 and neither fires — the job waits forever. (Or a
   * late setExpected and the last unit each see a stale half of the state.) With the lock, the
   * second transaction waits at FOR UPDATE until the first commits; it then reads the barrier's
   * latest row (READ COMMITTED re-reads a row it waited for), and its COUNT, a later statement,
   * takes a fresh snapshot that includes the first transaction's unit. So the calls on one
   * barrier run one after another, and exactly one sees the barrier complete while `fired` is
   * still false. Every path locks the barrier row before touching its units, so two of these
   * transactions cannot deadlock. The isolation level is set explicitly: under REPEATABLE READ
   * (a server default some set) the waiter would fail with a serialization error instead.
   */
  private settleBarrier(
    operation: string,
    jobId: string,
    barrier: string,
    change: (trx: Transaction<JobStoreDatabase>, state: BarrierState) => Promise<number | null>,
  ): Promise<boolean> {
    return this.transaction(operation, async (trx) => {
      const state = await lockBarrier(trx, jobId, barrier);
      const expected = await change(trx, state);
      if (state.fired || expected === null) return false;
      if ((await countBarrierUnits(trx, jobId, barrier)) < expected) return false;
      return markBarrierFired(trx, jobId, barrier);
    });
  }

  /**
   * Runs `body` in a READ COMMITTED transaction. After a server restart the pool's idle
   * connections may be dead without pg having noticed yet; a transaction that fails on one
   * before `body` started (at BEGIN) did nothing, so it is retried on another connection (the
   * pool drops the dead one). Once `body` started it is never retried here: the COMMIT may have
   * happened with only its answer lost, and a rerun would answer differently (a barrier that
   * fired would report false).
   */
  private transaction<T>(operation: string, body: (trx: Transaction<JobStoreDatabase>) => Promise<T>) {
    return this.retryable(operation, async () => {
      let started = false;
      try {
        return await this.db
          .transaction()
          .setIsolationLevel('read committed')
          .execute((trx) => {
            started = true;
            return body(trx);
          });
      } catch (error) {
        throw started ? new Final(error) : error;
      }
    });
  }

  /** Runs a call that gives the same result when repeated: retried on a dead connection. */
  private idempotent<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return this.retryable(operation, body);
  }

  /** Retries `body` while it fails on a stale pooled connection, then maps its error (storeError). */
  private async retryable<T>(operation: string, body: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await body();
      } catch (thrown) {
        const error = thrown instanceof Final ? thrown.error : thrown;
        if (thrown instanceof Final || !isStaleConnection(error) || attempt >= this.attempts) {
          throw storeError(operation, error);
        }
      }
    }
  }
}

/** Wraps an error that must not be retried. */
class Final {
  constructor(readonly error: unknown) {}
}

/**
 * The server ended this (pooled) session: it restarted or an admin killed it. Errors from opening
 * a new connection (refused, timeout, "starting up") are not stale: retrying them at once cannot help.
 */
function isStaleConnection(error: unknown): boolean {
  const state = sqlState(error);
  if (state === '57P01' || state === '57P02') return true; // admin_shutdown, crash_shutdown
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated unexpectedly|not queryable/i.test(message);
}

function unknownJob(jobId: string): ReconError {
  return new ReconError('INTERNAL', `unknown job ${jobId}`);
}

/** pg's errors for a connection that is gone, or never came, that carry no code. */
const LOST_CONNECTION =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed/i;

function storeError(operation: string, error: unknown): ReconError {
  if (error instanceof ReconError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const state = sqlState(error);
  if (state?.startsWith('40')) {
    return new ReconError(
      'INTERNAL',
      `job store ${operation} conflicted with another transaction: ${message}`,
      {
        cause: error,
        transient: true,
      },
    );
  }
  if (isTransient(error) || LOST_CONNECTION.test(message)) {
    return new ReconError('INTERNAL', `job store unavailable: ${message}`, { cause: error, transient: true });
  }
  return new ReconError('INTERNAL', `job store ${operation} failed: ${message}`, { cause: error });
}

export interface PostgresJobStoreOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** Receives errors of idle connections (the server went away); they are dropped and replaced. */
  onConnectionError?: (error: Error) => void;
}

/** A kysely database over a pg pool that survives server restarts (broken connections are dropped). */
export function createJobStoreDatabase(
  url: string,
  options: PostgresJobStoreOptions = {},
): Kysely<JobStoreDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'recon-job-store',
  });
  const onError = options.onConnectionError ?? (() => {});
  // pg-pool removes a client whose connection fails while idle and re-emits the error on the
  // pool; a client that loses its connection while checked out (between two statements of a
  // transaction) emits it on itself. Unlistened, either would crash the process; the failing
  // query reports the error to its caller anyway.
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return new Kysely<JobStoreDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** Connects to PostgreSQL at `url`, brings the schema to the latest version, and returns the store. */
export async function createPostgresJobStore(
  url: string,
  options: PostgresJobStoreOptions = {},
): Promise<{ store: PostgresJobStore; close(): Promise<void> }> {
  const db = createJobStoreDatabase(url, options);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    const cause = storeError('migration', error);
    throw new ReconError('INTERNAL', `job store at ${describeTarget(url)}: ${cause.message}`, {
      cause,
      transient: cause.transient,
    });
  }
  let closing: Promise<void> | undefined;
  return {
    store: new PostgresJobStore(db, { poolSize: options.maxConnections }),
    close: () => {
      closing ??= db.destroy();
      return closing;
    },
  };
}
