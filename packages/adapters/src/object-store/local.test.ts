import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFolderStore } from './local.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-local-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalFolderStore.put', () => {
  it('writes an object given in parts as the parts one after another, empty ones and all', async () => {
    const store = new LocalFolderStore(dir);
    // More parts than one gathered write takes (IOV_MAX, 1024), of many sizes, some empty, some views.
    const backing = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(200));
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 2600; k++) {
      const start = (k * 7) % 1000;
      parts.push(k % 5 === 0 ? new Uint8Array(0) : backing.subarray(start, start + (k % 37)));
    }
    await store.put('work/J/parts/p.bin', parts);
    const expected = Buffer.concat(parts);
    expect(expected.length).toBeGreaterThan(30_000);
    expect(await readFile(join(dir, 'work/J/parts/p.bin'))).toEqual(expected);
    expect(await store.size('work/J/parts/p.bin')).toBe(expected.length);
    // Written under a temporary name and renamed: nothing else is left in the folder.
    expect(await readdir(join(dir, 'work/J/parts'))).toEqual(['p.bin']);
  });

  it('writes parts larger and smaller than one write, across writes, byte for byte', async () => {
    const store = new LocalFolderStore(dir);
    let seed = 5;
    const part = (n: number) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        out[i] = seed >>> 24;
      }
      return out;
    };
    // 512 KiB a write: parts that end exactly there, span two or three writes, or fill the rest.
    const parts = [
      part(300_001),
      part(1_200_000),
      part(7),
      new Uint8Array(0),
      part(524_288),
      part(1),
      part(700_000),
    ];
    await store.put('big.bin', parts);
    expect((await readFile(join(dir, 'big.bin'))).equals(Buffer.concat(parts))).toBe(true);
  });

  it('replaces an object whole, whichever form its bytes take', async () => {
    const store = new LocalFolderStore(dir);
    await store.put('k', 'a much longer first version');
    await store.put('k', [Buffer.from('sh'), Buffer.from('ort')]);
    expect(Buffer.from(await store.get('k')).toString()).toBe('short');
    await store.put('k', []);
    expect(await store.size('k')).toBe(0);
    await store.put('k', new Uint8Array([0x61, 0x62]));
    expect(Buffer.from(await store.get('k')).toString()).toBe('ab');
  });
});
