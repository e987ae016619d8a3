import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FauxqsHarness, startFauxqsHarness } from '../../adapters/src/aws/fauxqs.ts';
import { CommonEnvSchema, parseEnv } from './config.ts';
import { startService } from './service.ts';

/**
 * A service's start against real SQS (fauxqs) and PostgreSQL, where only its own queue exists:
 * as on AWS, where its task role may touch that queue alone (looking another one up is denied).
 */
let dir: string;
let pg: PostgresHandle;
let aws: FauxqsHarness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-service-'));
  [pg, aws] = await Promise.all([startEmbeddedPostgres({ dataDir: join(dir, 'pg') }), startFauxqsHarness()]);
  await aws.sqs.send(new CreateQueueCommand({ QueueName: 'only-matcher' }));
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
}, 120_000);

afterAll(async () => {
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  await aws?.stop();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string>) =>
  parseEnv(CommonEnvSchema, {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: aws.connection.endpoint,
    RECON_QUEUE_PREFIX: 'only-',
    RECON_STORE_BUCKET: 'recon-store',
    RECON_INGRESS_BUCKET: 'recon-ingress',
    DATABASE_URL: pg.url,
    RECON_LOG_LEVEL: 'silent',
    RECON_WAIT_TIME_SECONDS: '0',
    ...extra,
  });

describe('startService', () => {
  it('publishing through the event bus, it looks up its own queue only', async () => {
    const running = await startService({
      service: 'matcher',
      env: env({ RECON_EVENT_BUS_NAME: 'recon' }),
      defaultConcurrency: 1,
      handlers: {},
    });
    await running.stop();
  });

  it('publishing straight to the queues, it needs every queue, and names the one missing', async () => {
    await expect(
      startService({ service: 'matcher', env: env({}), defaultConcurrency: 1, handlers: {} }),
    ).rejects.toThrow(/looking up queue only-(ingest|partition|reporter|notifier)/);
  });
});
