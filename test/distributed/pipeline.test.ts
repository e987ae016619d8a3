import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters';
import { PostgresReadModel } from '@recon/adapters/read-model';
import type { Stack } from '@recon/cli/stack';
import type { DivergenceItem } from '@recon/contracts';
import type { GeneratedDay } from '@recon/generator';
import type { S3SpyEvent } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParquetRow } from '../support/parquet.ts';
import {
  comparable,
  distributedRows,
  dropAndWait,
  embeddedRun,
  generate,
  loadBase,
  REFERENCE_DATE,
  startStack,
  tempDir,
} from './support.ts';

/**
 * The distributed runtime against the embedded one: every service its own OS process over fauxqs
 * (SQS + S3) and a real PostgreSQL, reconciling the same generated day.
 */
let dir: string;
let pg: PostgresHandle;
let day: GeneratedDay;
let embedded: { summary: import('@recon/contracts').JobSummary; rows: ParquetRow[] };
const stacks: Stack[] = [];

/**
 * The internal base lives apart from the job store, as the company's own RDS would: in a database
 * of its own, read by a user of its own who may only read it (a password `pg` must decode).
 */
const BASE_USER = 'leitor';
const BASE_PASSWORD = 'p@ss:w/rd %ç?#';
let baseUrl: string;

beforeAll(async () => {
  dir = await tempDir('pipeline');
  [pg, day] = await Promise.all([startEmbeddedPostgres({ dataDir: join(dir, 'pg') }), generate(dir)]);
  const url = new URL(pg.url);
  url.pathname = '/empresa';
  baseUrl = url.toString();
  await sql(pg.url, 'CREATE DATABASE empresa');
  await sql(pg.url, `CREATE ROLE ${BASE_USER} LOGIN PASSWORD '${BASE_PASSWORD}'`);
  await loadBase(baseUrl, day);
  await sql(baseUrl, `GRANT SELECT ON transacoes TO ${BASE_USER}`);
  embedded = await embeddedRun(dir, day, baseUrl);
  expect(embedded.rows.length).toBeGreaterThan(1000);
});

async function sql(connectionString: string, statement: string): Promise<void> {
  const { default: pgm } = await import('pg');
  const client = new pgm.Client({ connectionString });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const s of stacks) await s.stop();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the distributed stack', () => {
  it('reconciles a dropped day into exactly the divergence rows of the embedded run', async () => {
    // The job store's database has no base: the services that read it (partition, matcher) must
    // go to the base's own, as its user.
    const base = {
      RECON_BASE_DATABASE_URL: `postgresql://${new URL(baseUrl).host}/empresa`,
      RECON_BASE_PGUSER: BASE_USER,
      RECON_BASE_PGPASSWORD: BASE_PASSWORD,
    };
    const stack = await startStack(dir, {
      databaseUrl: pg.url,
      serviceEnv: { partition: base, matcher: base },
    });
    stacks.push(stack);
    const { dropped, job } = await dropAndWait(stack, day);
    expect(job.status).toBe('SUCCEEDED');
    expect(dropped.key).toBe(`${REFERENCE_DATE}/vendor.csv`);
    const result = await distributedRows(stack, job.jobId, dir);
    expect(result.jobIds).toEqual([job.jobId]);
    expect(comparable(result.summary)).toEqual(comparable(embedded.summary));
    expect(result.rows).toEqual(embedded.rows);
    // Intermediate objects went to the work bucket, outputs to the store bucket (as the CDK grants).
    const uploads = stack.fauxqs.spy
      .getAllMessages()
      .filter((m): m is S3SpyEvent => m.service === 's3' && m.status === 'uploaded');
    const bucketsOf = (prefix: string) =>
      new Set(uploads.filter((m) => String(m.key).startsWith(prefix)).map((m) => m.bucket));
    expect(bucketsOf(`work/${job.jobId}/`)).toEqual(new Set([stack.state.workBucket]));
    expect(bucketsOf(`jobs/${job.jobId}/`)).toEqual(new Set([stack.state.storeBucket]));
    expect(bucketsOf('divergencias/')).toEqual(new Set([stack.state.storeBucket]));
    // The reporter process wrote the job's metrics as CloudWatch EMF (the alarms read them).
    const emf = stack
      .logs('reporter')
      .filter(
        (l) =>
          (l as Record<string, unknown>)._aws !== undefined &&
          (l as Record<string, unknown>).job_id === job.jobId,
      );
    expect(emf.some((l) => (l as Record<string, unknown>).TotalLines === result.summary.total_lines)).toBe(
      true,
    );
    // The file's arrival time is the Object Created event's time.
    const record = await import('pg').then(async ({ default: pgm }) => {
      const c = new pgm.Client({ connectionString: pg.url });
      await c.connect();
      try {
        return (await c.query('SELECT request FROM jobs WHERE id = $1', [job.jobId])).rows[0].request;
      } finally {
        await c.end();
      }
    });
    expect(new Date(record.arrivedAt).toISOString()).toBe(new Date(dropped.arrivedAt).toISOString());
    expect(record.referenceDate).toBe(REFERENCE_DATE);
    // The reporter process loaded the job into the read model (the admin API's database), row for row.
    const model = new PostgresReadModel(pg.url);
    try {
      const loaded: DivergenceItem[] = [];
      for await (const batch of model.stream({ jobId: job.jobId })) loaded.push(...batch);
      expect(
        loaded.map((i) => [i.tipo_divergencia, i.ordem_id, i.hash_linha, i.valor_csv, i.diferenca]),
      ).toEqual(
        embedded.rows.map((r) => [r.tipo_divergencia, r.ordem_id, r.hash_linha, r.valor_csv, r.diferenca]),
      );
      expect((await model.stats({ jobId: job.jobId })).divergence_rate).toBe(result.summary.divergence_rate);
    } finally {
      await model.close();
    }
    // Every service ran in its own process, and both matchers matched shards.
    const pids = new Set(
      stack
        .logs()
        .filter((l) => l.msg === 'handled')
        .map((l) => `${l.service}:${l.pid}`),
    );
    expect([...pids].filter((p) => p.startsWith('matcher:')).length).toBe(2);
    for (const service of ['ingest', 'partition', 'reporter', 'notifier']) {
      expect([...pids].some((p) => p.startsWith(`${service}:`))).toBe(true);
    }
    await stack.stop();
    expect(stack.processes.every((p) => !p.alive)).toBe(true);
  });
});
