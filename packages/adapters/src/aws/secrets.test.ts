import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretsManagerClient, secretValueWriter } from './secrets.ts';

/**
 * Secrets Manager has no local emulator here: a plain HTTP server speaks its wire protocol (AWS
 * JSON 1.1, `X-Amz-Target: secretsmanager.PutSecretValue`) to the real SDK client, records each
 * request, and knows one secret; any other is ResourceNotFoundException, as AWS answers.
 */

const KNOWN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:recon-admin-bootstrap-key-AbCdEf';

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function fakeSecretsManager() {
  const requests: { target: string | undefined; body: Record<string, unknown> }[] = [];
  const server = createServer(async (req, res) => {
    const parsed = JSON.parse(await body(req)) as Record<string, unknown>;
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
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = createSecretsManagerClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  closers.push(async () => {
    client.destroy();
    server.close();
    await once(server, 'close');
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
