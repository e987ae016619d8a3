import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  createS3Client,
  createSqsClient,
  S3ObjectStore,
  s3ObjectCreatedEvent,
  toReconError,
} from '@recon/adapters';
import { type JobSummary, keys, ReconError } from '@recon/contracts';
import pg from 'pg';
import type { StackState } from './stack.ts';

const LOCAL_CREDENTIALS = { accessKeyId: 'recon', secretAccessKey: 'recon' };

export interface Dropped {
  bucket: string;
  key: string;
  /** The event time: the job's arrivedAt. */
  arrivedAt: string;
  eventId: string;
  /** The event as sent to the ingest queue (a test may send it again). */
  body: string;
}

/**
 * Puts a vendor file into the stack's ingress bucket as `<date>/<file name>` and sends the S3
 * "Object Created" EventBridge event for it to the ingest queue — what S3 + an EventBridge rule
 * do on AWS (fauxqs does not emit S3 notifications).
 */
export async function dropFile(state: StackState, file: string, date: string): Promise<Dropped> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new ReconError('INVALID_ARGUMENT', `--date ${JSON.stringify(date)} must be YYYY-MM-DD`);
  }
  const size = await stat(file).then(
    (s) => s.size,
    () => {
      throw new ReconError('FILE_NOT_FOUND', `${file}: no such file`);
    },
  );
  const connection = { region: state.region, endpoint: state.endpoint, credentials: LOCAL_CREDENTIALS };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  try {
    const key = `${date}/${basename(file)}`;
    const ingress = new S3ObjectStore({ client: s3, bucket: state.ingressBucket });
    await ingress.putStream(key, createReadStream(file));
    let etag: string | undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: state.ingressBucket, Key: key }));
      etag = head.ETag?.replaceAll('"', '');
    } catch (error) {
      throw toReconError(error, `reading back ${ingress.uri(key)}`);
    }
    const time = new Date();
    const event = s3ObjectCreatedEvent({
      bucket: state.ingressBucket,
      key,
      size,
      time,
      sequencer: time.getTime().toString(16).toUpperCase().padStart(16, '0'),
      region: state.region,
      ...(etag === undefined ? {} : { etag }),
    });
    const body = JSON.stringify(event);
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: state.queues.ingest.queueUrl, MessageBody: body }));
    } catch (error) {
      throw toReconError(error, 'sending the Object Created event to the ingest queue');
    }
    return { bucket: state.ingressBucket, key, arrivedAt: event.time, eventId: event.id, body };
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

export interface JobRow {
  jobId: string;
  status: string;
  error: { stage: string; code: string; message: string } | null;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED']);

/** The job started by a dropped file, once ingest created it (undefined before). */
export async function findJob(databaseUrl: string, dropped: Dropped): Promise<JobRow | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ id: string; status: string; error: JobRow['error'] }>(
      `SELECT id, status, error FROM jobs
        WHERE request->'file'->>'key' = $1 AND (request->>'arrivedAt')::timestamptz = $2::timestamptz
        ORDER BY created_at DESC LIMIT 1`,
      [dropped.key, dropped.arrivedAt],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { jobId: row.id, status: row.status, error: row.error };
  } catch (error) {
    // The job store's tables appear when the first service migrates it.
    if ((error as { code?: string }).code === '42P01') return undefined;
    throw error;
  } finally {
    await client.end();
  }
}

/** Polls the job store until the dropped file's job ends; transient database errors are retried. */
export async function waitForJob(
  databaseUrl: string,
  dropped: Dropped,
  timeoutMs: number,
  onPoll?: (job: JobRow | undefined) => void,
): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await findJob(databaseUrl, dropped).catch(() => undefined);
    onPoll?.(job);
    if (job !== undefined && TERMINAL.has(job.status)) return job;
    if (Date.now() > deadline) {
      throw new ReconError(
        'INTERNAL',
        `timed out after ${timeoutMs} ms waiting for the job of ${dropped.key} (${job === undefined ? 'not created' : job.status})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The job's summary.json in the stack's store bucket. */
export async function readSummary(state: StackState, jobId: string): Promise<JobSummary> {
  const s3 = createS3Client({
    region: state.region,
    endpoint: state.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const store = new S3ObjectStore({ client: s3, bucket: state.storeBucket });
    return JSON.parse(Buffer.from(await store.get(keys.summary(jobId))).toString('utf8')) as JobSummary;
  } finally {
    s3.destroy();
  }
}
