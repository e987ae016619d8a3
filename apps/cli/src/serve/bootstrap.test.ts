import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters/postgres';
import { ApiKeyStore, PostgresReadModel, parseApiKey } from '@recon/adapters/read-model';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapAdminKey } from './bootstrap.ts';

let root: string;
let pg: PostgresHandle;
let model: PostgresReadModel;
let keys: ApiKeyStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'recon-bootstrap-'));
  pg = await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
  model = new PostgresReadModel(pg.url);
  await model.migrate();
  keys = new ApiKeyStore(model);
}, 120_000);

afterAll(async () => {
  await model?.close();
  await pg?.stop();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  await model.query('DELETE FROM recon_api_keys');
});

describe('the first admin key of recon serve', () => {
  it('without a sink: printed once, an admin key that works; none when keys exist', async () => {
    const text = await bootstrapAdminKey(keys);
    const key = /^ {2}(rk_\S+)$/m.exec(text ?? '')?.[1];
    expect(key).toBeDefined();
    expect(await keys.verify(key!)).toMatchObject({ role: 'admin', id: parseApiKey(key!)!.id });
    expect(await bootstrapAdminKey(keys)).toBeNull();
    expect(await keys.list()).toHaveLength(1);
  });

  it('with a sink: the key goes there, and what is printed names it by id only', async () => {
    const written: string[] = [];
    const text = await bootstrapAdminKey(keys, {
      where: 'the secret arn:aws:secretsmanager:us-east-1:1:secret:k',
      put: async (value) => {
        written.push(value);
      },
    });
    expect(written).toHaveLength(1);
    const key = written[0]!;
    const { id, secret } = parseApiKey(key)!;
    expect(await keys.verify(key)).toMatchObject({ role: 'admin', id });
    expect(text).toContain(id);
    expect(text).toContain('arn:aws:secretsmanager:us-east-1:1:secret:k');
    expect(text).not.toContain(secret);
  });

  it('a key that cannot be written is revoked, and the server is told why', async () => {
    const tried: string[] = [];
    const failing = bootstrapAdminKey(keys, {
      where: 'the secret recon-admin-key',
      put: async (value) => {
        tried.push(value);
        throw Object.assign(new Error('User is not authorized to perform PutSecretValue'), {
          name: 'AccessDeniedException',
        });
      },
    });
    await expect(failing).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /could not write the first admin key to the secret recon-admin-key \(AccessDeniedException: .*\); key [0-9a-f]{12} was revoked/,
      ),
    });
    expect(tried).toHaveLength(1);
    expect(await keys.verify(tried[0]!)).toBeUndefined();
    expect(await keys.count()).toBe(0);
    // The message never holds the key.
    await failing.catch((error: Error) =>
      expect(error.message).not.toContain(parseApiKey(tried[0]!)!.secret),
    );
  });
});
