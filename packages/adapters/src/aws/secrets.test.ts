import { afterEach, describe, expect, it } from 'vitest';
import { createSecretsManagerClient, secretValueWriter } from './secrets.ts';
import { closeServer, listenLocal } from './testing.ts';

/**
 * Secrets Manager has no local emulator here: a plain HTTP server speaks its wire protocol (AWS
 * JSON 1.1, `X-Amz-Target: secretsmanager.PutSecretValue`) to the real SDK client, records each
 * request, and knows one secret; any other is ResourceNotFoundException, as AWS answers.
 */

const KNOWN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:recon-admin-bootstrap-key-AbCdEf';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function fakeSecretsManager() {
  const requests: { target: string | undefined; body: Record<string, unknown> }[] = [];
  const { server, origin } = await listenLocal((req, body, res) => {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    requests.push({ target: req.headers['x-amz-target'] as string | undefined, body: parsed });
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    if (parsed.SecretId !== KNOWN) {
      res.statusCode = 400;
      res.end(
        JSON.stringify({
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        }),
      );
      return;
    }
    res.end(JSON.stringify({ ARN: KNOWN, Name: 'recon-admin-bootstrap-key', VersionId: 'v2' }));
  });
  const client = createSecretsManagerClient({
    region: 'us-east-1',
    endpoint: origin,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  closers.push(async () => {
    client.destroy();
    await closeServer(server);
  });
  return { requests, client };
}

describe('Secrets Manager writer', () => {
  it('puts the value as the current version of the secret it names', async () => {
    const sm = await fakeSecretsManager();
    await secretValueWriter(sm.client, KNOWN)('rk_0123456789ab_secret');
    expect(sm.requests).toEqual([
      {
        target: 'secretsmanager.PutSecretValue',
        body: expect.objectContaining({ SecretId: KNOWN, SecretString: 'rk_0123456789ab_secret' }),
      },
    ]);
  });

  it('throws what Secrets Manager answers, by name', async () => {
    const sm = await fakeSecretsManager();
    await expect(secretValueWriter(sm.client, 'no-such-secret')('value')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
