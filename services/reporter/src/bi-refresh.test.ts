import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReconError } from '@recon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGlueQuickSightBiRefresh, type GlueQuickSightTarget } from './bi-refresh.ts';

/**
 * The real AWS SDK clients against a local HTTP server that plays Glue (JSON 1.1, X-Amz-Target)
 * and QuickSight (REST-JSON) and records every request.
 */
interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; headers?: Record<string, string>; body: unknown };
let recorded: Recorded[] = [];
let replies: ((req: Recorded) => Reply | undefined)[] = [];
let server: Server;
let endpoint: string;

const TABLE_SD = {
  Columns: [
    { Name: 'job_id', Type: 'string' },
    { Name: 'valor_csv', Type: 'decimal(18,2)' },
  ],
  Location: 's3://recon-output-bucket/divergencias/',
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};

function defaultReply(req: Recorded): Reply {
  const target = req.headers['x-amz-target'];
  if (target === 'AWSGlue.GetTable') {
    return {
      status: 200,
      body: {
        Table: {
          Name: 'divergencias',
          DatabaseName: 'recon',
          StorageDescriptor: TABLE_SD,
          PartitionKeys: [{ Name: 'dt', Type: 'string' }],
        },
      },
    };
  }
  if (target === 'AWSGlue.BatchCreatePartition') return { status: 200, body: {} };
  if (req.method === 'PUT' && req.url.includes('/ingestions/')) {
    const id = decodeURIComponent(req.url.split('/ingestions/')[1]!.split('?')[0]!);
    return {
      status: 201,
      body: {
        Arn: `arn:aws:quicksight:sa-east-1:123456789012:dataset/recon-divergencias/ingestion/${id}`,
        IngestionId: id,
        IngestionStatus: 'INITIALIZED',
        RequestId: 'r-1',
      },
    };
  }
  return {
    status: 400,
    headers: { 'x-amzn-errortype': 'UnknownOperationException' },
    body: { message: 'unexpected request' },
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      recorded.push(r);
      let reply: Reply | undefined;
      for (const f of replies) reply ??= f(r);
      reply ??= defaultReply(r);
      const json = r.headers['x-amz-target'] !== undefined;
      res.writeHead(reply.status, {
        'content-type': json ? 'application/x-amz-json-1.1' : 'application/json',
        'x-amzn-requestid': 'req-1',
        ...reply.headers,
      });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  recorded = [];
  replies = [];
});

const TARGET: GlueQuickSightTarget = {
  glue: { database: 'recon', table: 'divergencias' },
  quickSight: { awsAccountId: '123456789012', dataSetId: 'recon-divergencias' },
};

function refresher(target: GlueQuickSightTarget = TARGET) {
  return createGlueQuickSightBiRefresh({
    region: 'sa-east-1',
    target,
    endpoints: { glue: endpoint, quickSight: endpoint },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    clock: { now: () => new Date('2026-11-22T08:15:00.000Z') },
  });
}

const glueCalls = (op: string) =>
  recorded.filter((r) => r.headers['x-amz-target'] === `AWSGlue.${op}`).map((r) => JSON.parse(r.body));
const ingestions = () => recorded.filter((r) => r.method === 'PUT' && r.url.includes('/ingestions/'));

describe('GlueQuickSightBiRefresh (real SDK, local endpoint)', () => {
  it('registers dt=<reference date> with the table storage, then starts an ingestion of the dataset', async () => {
    const result = await refresher().refresh({ jobId: 'JOB-20261122-000001', referenceDate: '2026-11-21' });

    expect(glueCalls('GetTable')).toEqual([{ DatabaseName: 'recon', Name: 'divergencias' }]);
    const [batch] = glueCalls('BatchCreatePartition');
    expect(batch).toEqual({
      DatabaseName: 'recon',
      TableName: 'divergencias',
      PartitionInputList: [
        {
          Values: ['2026-11-21'],
          StorageDescriptor: {
            ...TABLE_SD,
            Location: 's3://recon-output-bucket/divergencias/dt=2026-11-21/',
          },
        },
      ],
    });

    const [ingestion] = ingestions();
    expect(ingestion!.url).toBe(
      '/accounts/123456789012/data-sets/recon-divergencias/ingestions/JOB-20261122-000001-1795335300000',
    );
    expect(JSON.parse(ingestion!.body)).toEqual({ IngestionType: 'FULL_REFRESH' });
    // Signed like any AWS call (SigV4), by the real SDK.
    expect(ingestion!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/sa-east-1\/quicksight\/aws4_request/,
    );

    expect(result).toEqual({
      partition: 'created',
      ingestionId: 'JOB-20261122-000001-1795335300000',
      ingestionStatus: 'INITIALIZED',
    });
  });

  it('tolerates AlreadyExists: the same day refreshed again still starts an ingestion', async () => {
    replies.push((r) =>
      r.headers['x-amz-target'] === 'AWSGlue.BatchCreatePartition'
        ? {
            status: 200,
            body: {
              Errors: [
                {
                  PartitionValues: ['2026-11-21'],
                  ErrorDetail: {
                    ErrorCode: 'AlreadyExistsException',
                    ErrorMessage: 'Partition already exists.',
                  },
                },
              ],
            },
          }
        : undefined,
    );
    const result = await refresher({
      ...TARGET,
      glue: { ...TARGET.glue, catalogId: '123456789012' },
    }).refresh({
      jobId: 'JOB-20261122-000001',
      referenceDate: '2026-11-21',
      ingestionId: 'JOB-20261122-000001-r2',
    });
    expect(result).toEqual({
      partition: 'existed',
      ingestionId: 'JOB-20261122-000001-r2',
      ingestionStatus: 'INITIALIZED',
    });
    expect(glueCalls('BatchCreatePartition')[0].CatalogId).toBe('123456789012');
    expect(ingestions().map((r) => r.url)).toEqual([
      '/accounts/123456789012/data-sets/recon-divergencias/ingestions/JOB-20261122-000001-r2',
    ]);
  });

  it('a fixed ingestion id already used (redelivery) is not an error', async () => {
    replies.push((r) =>
      r.method === 'PUT'
        ? {
            status: 409,
            headers: { 'x-amzn-errortype': 'ResourceExistsException' },
            body: { Message: 'Ingestion already exists' },
          }
        : undefined,
    );
    const result = await refresher().refresh({
      jobId: 'JOB-20261122-000001',
      referenceDate: '2026-11-21',
      ingestionId: 'JOB-20261122-000001',
    });
    expect(result.ingestionStatus).toBe('ALREADY_STARTED');
  });

  it('any other partition error fails with a coded error naming the table and date', async () => {
    replies.push((r) =>
      r.headers['x-amz-target'] === 'AWSGlue.BatchCreatePartition'
        ? {
            status: 200,
            body: {
              Errors: [
                {
                  PartitionValues: ['2026-11-21'],
                  ErrorDetail: { ErrorCode: 'AccessDeniedException', ErrorMessage: 'no' },
                },
              ],
            },
          }
        : undefined,
    );
    const error = await refresher()
      .refresh({ jobId: 'JOB-20261122-000001', referenceDate: '2026-11-21' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconError);
    expect((error as ReconError).message).toContain('dt=2026-11-21 of recon.divergencias');
    expect((error as ReconError).transient).toBe(false);
    expect(ingestions()).toHaveLength(0); // no refresh of a day the catalog does not have
  });

  it('a throttled QuickSight call is a transient error', async () => {
    replies.push((r) =>
      r.method === 'PUT'
        ? {
            status: 429,
            headers: { 'x-amzn-errortype': 'ThrottlingException' },
            body: { Message: 'slow down' },
          }
        : undefined,
    );
    const error = (await refresher()
      .refresh({ jobId: 'JOB-20261122-000001', referenceDate: '2026-11-21' })
      .catch((e: unknown) => e)) as ReconError;
    expect(error.code).toBe('INTERNAL');
    expect(error.transient).toBe(true);
  });

  it('rejects a malformed reference date before calling anything', async () => {
    await expect(
      refresher().refresh({ jobId: 'JOB-20261122-000001', referenceDate: '21/11/2026' }),
    ).rejects.toThrow(/YYYY-MM-DD/);
    expect(recorded).toHaveLength(0);
  });
});
