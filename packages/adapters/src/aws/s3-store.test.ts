import { createHash } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ReconError } from '@recon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from './clients.ts';
import { type FauxqsHarness, startFauxqsHarness } from './fauxqs.ts';
import { ensureBucket } from './provision.ts';
import { S3ObjectStore } from './s3-store.ts';

const MiB = 1024 * 1024;
const BUCKET = 'recon-test';

let h: FauxqsHarness;
let store: S3ObjectStore;

beforeAll(async () => {
  h = await startFauxqsHarness();
  await ensureBucket(h.s3, BUCKET);
  await ensureBucket(h.s3, BUCKET); // idempotent
  store = new S3ObjectStore({ client: h.s3, bucket: BUCKET, prefix: 'data' });
});

afterAll(async () => {
  await h?.stop();
});

/** Deterministic, incompressible-looking bytes (a xorshift stream), so parts differ from each other. */
function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<{ data: Buffer; chunks: number }> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return { data: Buffer.concat(parts), chunks: parts.length };
}

async function etag(key: string): Promise<string> {
  const head = await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `data/${key}` }));
  return head.ETag ?? '';
}

async function rejection(promise: Promise<unknown>): Promise<ReconError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReconError);
  return error as ReconError;
}

describe('S3ObjectStore', () => {
  it('round-trips small objects, strings and bytes, under its key prefix', async () => {
    await store.put('small/text.txt', 'olá, conciliação');
    await store.put('small/bytes.bin', bytes(1000));
    expect(Buffer.from(await store.get('small/text.txt')).toString('utf8')).toBe('olá, conciliação');
    expect(Buffer.from(await store.get('small/bytes.bin')).equals(Buffer.from(bytes(1000)))).toBe(true);
    expect(await store.size('small/text.txt')).toBe(Buffer.byteLength('olá, conciliação'));
    expect(store.uri('small/text.txt')).toBe(`s3://${BUCKET}/data/small/text.txt`);
    // single PutObject: a plain MD5 ETag, no "-<parts>" suffix
    expect(await etag('small/bytes.bin')).not.toMatch(/-\d+"$/);
  });

  it('puts an object given in parts as the parts one after another', async () => {
    const whole = bytes(5000, 7);
    await store.put('small/parts.bin', [
      whole.subarray(0, 1),
      new Uint8Array(0),
      whole.subarray(1, 4321),
      whole.subarray(4321),
    ]);
    expect(Buffer.from(await store.get('small/parts.bin')).equals(Buffer.from(whole))).toBe(true);
    expect(await etag('small/parts.bin')).not.toMatch(/-\d+"$/);
  });

  it('writes a 30 MiB object as a multipart upload and reads it back whole, by range and streamed', async () => {
    const data = bytes(30 * MiB, 7);
    await store.put('big/30mib.bin', data);
    // 30 MiB in 8 MiB parts: four parts (fauxqs answers 413 to a single PutObject this large)
    expect(await etag('big/30mib.bin')).toMatch(/-4"$/);
    expect(await store.size('big/30mib.bin')).toBe(30 * MiB);

    const whole = await store.get('big/30mib.bin');
    expect(sha256(whole)).toBe(sha256(data));

    // a range across the first part boundary
    const start = 8 * MiB - 5;
    const range = await store.getRange('big/30mib.bin', start, start + 10);
    expect(Buffer.from(range).equals(Buffer.from(data.subarray(start, start + 10)))).toBe(true);

    const streamed = await collect(store.getStream('big/30mib.bin'));
    expect(streamed.chunks).toBeGreaterThan(1);
    expect(sha256(streamed.data)).toBe(sha256(data));
  });

  it('putStream uploads a stream of Uint8Array chunks without knowing its length', async () => {
    const chunk = bytes(MiB, 3);
    const total = 20 * MiB + 123;
    async function* source() {
      for (let sent = 0; sent < total; sent += chunk.length) {
        yield new Uint8Array(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      }
    }
    await store.putStream('stream/20mib.bin', source());
    expect(await store.size('stream/20mib.bin')).toBe(total);
    expect(await etag('stream/20mib.bin')).toMatch(/-3"$/);
    const expected = Buffer.concat(
      Array.from({ length: 21 }, (_, i) => chunk.subarray(0, Math.min(chunk.length, total - i * MiB))),
    );
    expect(sha256((await collect(store.getStream('stream/20mib.bin'))).data)).toBe(sha256(expected));

    async function* tiny() {
      yield new TextEncoder().encode('abc');
      yield new TextEncoder().encode('def');
    }
    await store.putStream('stream/tiny.txt', tiny());
    expect(Buffer.from(await store.get('stream/tiny.txt')).toString()).toBe('abcdef');

    await store.putStream('stream/empty.txt', (async function* () {})());
    expect(await store.size('stream/empty.txt')).toBe(0);
    expect((await store.get('stream/empty.txt')).length).toBe(0);
  });

  it('getRange returns bytes [start, end), clipped at the end of the object', async () => {
    await store.put('range/hello.txt', 'hello world');
    const text = async (s: number, e: number) =>
      Buffer.from(await store.getRange('range/hello.txt', s, e)).toString();
    expect(await text(0, 5)).toBe('hello');
    expect(await text(6, 11)).toBe('world');
    expect(await text(4, 7)).toBe('o w');
    expect(await text(5, 5)).toBe('');
    expect(await text(6, 100)).toBe('world');
    expect(await text(50, 60)).toBe('');
  });

  it('lists by prefix across pages and deletes a prefix in batches of 1000', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/job-1/${String(i).padStart(4, '0')}.bin`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, k)));
    }
    await store.put('many/job-10/other.bin', 'x');
    await store.put('many/job-2/keep.bin', 'y');

    const listed = await store.list('many/job-1/');
    expect(listed).toEqual(keys);
    expect(await store.list('many/job-1')).toHaveLength(1006); // a raw prefix, like S3's
    expect(await store.list('many/nothing/')).toEqual([]);

    await store.deletePrefix('many/job-1/');
    expect(await store.list('many/job-1/')).toEqual([]);
    expect(await store.list('many/')).toEqual(['many/job-10/other.bin', 'many/job-2/keep.bin']);
    expect(await store.size(keys[0]!)).toBeNull();
  });

  it('reports a missing object as OBJECT_NOT_FOUND (size: null)', async () => {
    expect(await store.size('missing/x')).toBeNull();
    for (const attempt of [
      () => store.get('missing/x'),
      () => store.getRange('missing/x', 0, 10),
      () => store.getRange('missing/x', 3, 3),
      () => collect(store.getStream('missing/x')),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe('OBJECT_NOT_FOUND');
      expect(error.message).toContain(`s3://${BUCKET}/data/missing/x`);
      expect(error.transient).toBe(false);
    }
  });

  it('reports a missing bucket as a configuration error', async () => {
    const other = new S3ObjectStore({ client: h.s3, bucket: 'no-such-bucket' });
    const error = await rejection(other.get('x'));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('NoSuchBucket');
  });

  it('reports an unreachable endpoint as a transient error with its cause', async () => {
    const client = createS3Client({ ...h.connection, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });
    try {
      const down = new S3ObjectStore({ client, bucket: BUCKET });
      for (const attempt of [
        () => down.get('x'),
        () => down.size('x'),
        () => down.put('x', 'y'),
        () => down.list(''),
      ]) {
        const error = await rejection(attempt());
        expect(error.transient).toBe(true);
        expect(error.cause).toBeDefined();
      }
    } finally {
      client.destroy();
    }
  });
});
