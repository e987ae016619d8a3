import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFolderStore } from '@recon/adapters';
import { describe, expect, it } from 'vitest';
import { defaultShardBuckets, defaultShardCount, nextJobId, resolveReferenceDate } from './request.ts';

describe('reference date (RULES §6)', () => {
  const started = new Date('2026-11-22T03:00:00Z');
  it('is the given one, else the date folder of the key, else the day before the start', () => {
    expect(resolveReferenceDate('2026-11-20/f.csv', '2026-11-19', started)).toBe('2026-11-19');
    expect(resolveReferenceDate('ingress/2026-11-20/f.csv', undefined, started)).toBe('2026-11-20');
    expect(resolveReferenceDate('ingress/f.csv', undefined, started)).toBe('2026-11-21');
    expect(resolveReferenceDate('2026-02-30/f.csv', undefined, new Date('2026-03-01T00:00:00Z'))).toBe(
      '2026-02-28',
    );
  });
  it('rejects a malformed given date', () => {
    expect(() => resolveReferenceDate('f.csv', '21/11/2026', started)).toThrow(/not a date YYYY-MM-DD/);
  });
});

describe('job ids', () => {
  it('numbers jobs per start day after the ones already in the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recon-ids-'));
    try {
      const store = new LocalFolderStore(dir);
      const day = new Date('2026-11-22T10:00:00Z');
      expect(await nextJobId(store, day)).toBe('JOB-20261122-000001');
      await store.put('jobs/JOB-20261122-000001/summary.json', '{}');
      await store.put('jobs/JOB-20261122-000007/summary.json', '{}');
      await store.put('jobs/JOB-20261121-000009/summary.json', '{}');
      expect(await nextJobId(store, day)).toBe('JOB-20261122-000008');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shard count', () => {
  it('keeps a shard near 4 MiB of input, at least 8', () => {
    expect(defaultShardCount(1000, 1000)).toBe(8);
    expect(defaultShardCount(70 << 20, 73 << 20)).toBe(32);
    expect(defaultShardCount(700 << 20, 730 << 20)).toBe(256);
  });
});

describe('buckets per shard', () => {
  it('keeps a bucket at 256 KiB of input or more, up to 64 per shard', () => {
    expect(defaultShardBuckets(1000, 1000, 8)).toBe(1);
    // The 1M-line day: 32 shards of ~2.3 MB.
    expect(defaultShardBuckets(69_227_397, 72_762_433, 32)).toBe(8);
    expect(defaultShardBuckets(1 << 20, 0, 2)).toBe(2);
    expect(defaultShardBuckets((1 << 20) - 1, 0, 2)).toBe(1);
    expect(defaultShardBuckets(4 * 2 ** 30, 0, 1)).toBe(64);
    expect(defaultShardBuckets(1 << 30, 0, 0)).toBe(64);
  });
});
