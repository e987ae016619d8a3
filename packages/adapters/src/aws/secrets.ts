import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type AwsConnection, clientConfig } from './clients.ts';

/**
 * AWS Secrets Manager, for the one value recon writes there: the admin API's first key
 * (`RECON_BOOTSTRAP_KEY_SECRET`), which must not reach the log. A module of its own, not
 * re-exported by `./index.ts`, so the services that write no secret do not load the client.
 */
export function createSecretsManagerClient(connection: AwsConnection): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(connection));
}

/**
 * Writes `value` as the current version of the secret `secretId` (its ARN or name) with
 * `PutSecretValue`. Errors are thrown as the SDK gives them (`name`, `$metadata`).
 */
export function secretValueWriter(
  client: SecretsManagerClient,
  secretId: string,
): (value: string) => Promise<void> {
  return async (value) => {
    await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  };
}
