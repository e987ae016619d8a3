import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { type AwsConnection, createS3Client, createSqsClient } from './clients.ts';

/**
 * A fauxqs (SQS + S3 emulator) server in this process on a random port, with real SDK clients
 * pointed at it. Test-only: fauxqs is a dev dependency, so this file must not be exported from
 * the package's production entry point.
 */
export interface FauxqsHarness {
  server: FauxqsServer;
  connection: AwsConnection;
  s3: S3Client;
  sqs: SQSClient;
  stop(): Promise<void>;
}

export async function startFauxqsHarness(): Promise<FauxqsHarness> {
  const server = await startFauxqs({ port: 0, logger: false, messageSpies: { bufferSize: 2000 } });
  const connection: AwsConnection = {
    region: 'us-east-1',
    endpoint: server.address,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  return {
    server,
    connection,
    s3,
    sqs,
    async stop() {
      s3.destroy();
      sqs.destroy();
      await server.stop();
    },
  };
}
