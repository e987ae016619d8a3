import { readFile, rm } from 'node:fs/promises';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters';
import { readEnv } from '@recon/cli/config';
import { bootstrapAdminKey } from '@recon/cli/serve-bootstrap';
import { startDistributedServer } from '@recon/cli/serve-distributed';
import type { Stack } from '@recon/cli/stack';
import type { DashboardStats, JobSummary } from '@recon/contracts';
import type { GeneratedDay } from '@recon/generator';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait.ts';
import { generate, loadBase, REFERENCE_DATE, startStack, tempDir } from './support.ts';

/**
 * `recon serve --distributed` (the admin API's own service in AWS) over the distributed runtime:
 * every pipeline service its own process over fauxqs (SQS + S3) and a real PostgreSQL. An upload
 * through the API becomes one job that the services run; its divergences reach the read model.
 */
let dir: string;
let pg: PostgresHandle;
let day: GeneratedDay;
let stack: Stack;
let server: Awaited<ReturnType<typeof startDistributedServer>>;
let operator: string;
let bootstrapFailure: unknown;

beforeAll(async () => {
  dir = await tempDir('admin-distributed');
  pg = await startEmbeddedPostgres({ dataDir: `${dir}/pg` });
  day = await generate(dir);
  await loadBase(pg.url, day);
  // Slow matchers leave time to cancel a running job.
  stack = await startStack(dir, {
    databaseUrl: pg.url,
    matchers: 1,
    serviceEnv: { matcher: { RECON_TEST_MATCHER_DELAY_MS: '300' } },
  });
  const source: Record<string, string> = {
    ...stack.serviceEnv('ingest'),
    RECON_LOG_LEVEL: 'silent',
    // As the CDK app sets it; the emulator has no Secrets Manager, so writing to it fails here.
    RECON_BOOTSTRAP_KEY_SECRET: 'recon/admin-bootstrap-key',
  };
  // The AWS SDK reads credentials from the process environment (its default chain), as on Fargate.
  process.env.AWS_ACCESS_KEY_ID = source.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = source.AWS_SECRET_ACCESS_KEY;
  server = await startDistributedServer(readEnv(source), source, { host: '127.0.0.1', port: 0 });
  // What `recon serve` does first, on a database with no key yet.
  bootstrapFailure = await bootstrapAdminKey(server.keys, server.bootstrapKeySink).then(
    (printed) => new Error(`the first admin key was not refused: ${printed}`),
    (error: unknown) => error,
  );
  operator = (await server.keys.create('operator', 'test')).key;
}, 240_000);

afterAll(async () => {
  await server?.close();
  await stack?.stop();
  await pg?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function call(opts: InjectOptions) {
  return server.app.inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${operator}` } });
}

async function upload(body: Buffer, fields: Record<string, string>) {
  const boundary = '----recon-distributed';
  const parts = Object.entries(fields).map(
    ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  return call({
    method: 'POST',
    url: '/v1/jobs',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: Buffer.concat([
      Buffer.from(parts.join('')),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="vendor.csv"\r\n\r\n`,
      ),
      body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  });
}

function waitFor(jobId: string, done: (status: string) => boolean, timeoutMs = 120_000) {
  let seen: string | undefined;
  return until(
    () => `job ${jobId} to move on (still ${seen})`,
    async () => {
      const job = (await call({ url: `/v1/jobs/${jobId}` })).json() as {
        status: string;
        summary: JobSummary | null;
      };
      seen = job.status;
      return done(job.status) ? job : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

describe('recon serve --distributed', () => {
  let jobId: string;

  it('writes its first admin key to the secret RECON_BOOTSTRAP_KEY_SECRET names, through the SDK; a key it cannot write there is revoked', async () => {
    expect(bootstrapFailure).toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining(
        'could not write the first admin key to the secret recon/admin-bootstrap-key',
      ),
    });
    const bootstrap = (await server.keys.list()).filter((k) => k.name.startsWith('bootstrap'));
    expect(bootstrap).toHaveLength(1);
    expect(bootstrap[0]!.revoked_at).not.toBeNull();
  });

  it('an upload becomes one job the services run; its divergences reach the read model; the same file again is the same job', async () => {
    const vendor = await readFile(day.vendorPath);
    const started = await upload(vendor, { reference_date: REFERENCE_DATE });
    expect(started.statusCode).toBe(202);
    jobId = started.json().job_id as string;
    const job = await waitFor(jobId, (s) => ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'].includes(s));
    expect(job.status).toBe('SUCCEEDED');
    const expected = day.expected['date-window'];
    expect(job.summary!.divergences).toEqual(expected.divergences);
    const stats = (await call({ url: `/v1/stats?job_id=${jobId}` })).json() as DashboardStats;
    expect(stats.by_type).toEqual(expected.divergences);
    expect(stats.total_lines).toBe(expected.total_lines);

    const twice = await upload(vendor, { reference_date: REFERENCE_DATE });
    expect(twice.statusCode).toBe(200);
    expect(twice.json()).toMatchObject({ job_id: jobId, already_reconciled: true });
    // Only the API started jobs: the upload under uploads/ did not trigger the Object Created route.
    const list = (await call({ url: '/v1/jobs' })).json() as { total: number };
    expect(list.total).toBe(1);
    expect((await call({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` })).statusCode).toBe(409);
  }, 200_000);

  it('cancel stops a running job (CANCELLED, checkpoint in S3); reprocess completes it', async () => {
    // Another file for the date (one blank line more: another SHA-256, the same records).
    const vendor = Buffer.concat([await readFile(day.vendorPath), Buffer.from('\n')]);
    const started = await upload(vendor, { reference_date: REFERENCE_DATE });
    expect(started.statusCode).toBe(202);
    const second = started.json().job_id as string;
    await waitFor(second, (s) => s === 'MATCHING');
    const cancel = await call({ method: 'POST', url: `/v1/jobs/${second}/cancel` });
    expect(cancel.statusCode).toBe(202);
    const stopped = (await call({ url: `/v1/jobs/${second}` })).json();
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.checkpoint_location).toMatch(/^s3:\/\/.*checkpoints\/.*checkpoint\.json$/);
    expect((await call({ method: 'POST', url: `/v1/jobs/${second}/cancel` })).statusCode).toBe(409);
    expect((await call({ method: 'POST', url: `/v1/jobs/${second}/reprocess` })).statusCode).toBe(202);
    const job = await waitFor(second, (s) => ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'].includes(s));
    expect(job.status).toBe('SUCCEEDED');
    expect(job.summary!.divergences).toEqual(day.expected['date-window'].divergences);
  }, 200_000);
});
