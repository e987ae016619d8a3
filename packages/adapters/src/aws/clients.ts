import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Where the AWS services are. On AWS only `region` is set and credentials come from the default
 * provider chain (the Fargate task role); against an emulator (fauxqs) `endpoint` and dummy
 * credentials are given, and S3 switches to path-style URLs, which emulators need.
 */
export interface AwsConnection {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request made by the SDK itself (its standard retry strategy); default 3. */
  maxAttempts?: number;
}

/** The settings every AWS client takes from a connection. */
export function clientConfig(connection: AwsConnection) {
  return {
    region: connection.region,
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.credentials === undefined ? {} : { credentials: connection.credentials }),
    ...(connection.maxAttempts === undefined ? {} : { maxAttempts: connection.maxAttempts }),
  };
}

export function createS3Client(connection: AwsConnection): S3Client {
  return new S3Client({ ...clientConfig(connection), forcePathStyle: connection.endpoint !== undefined });
}

export function createSqsClient(connection: AwsConnection): SQSClient {
  return new SQSClient(clientConfig(connection));
}

export function createEventBridgeClient(connection: AwsConnection): EventBridgeClient {
  return new EventBridgeClient(clientConfig(connection));
}
