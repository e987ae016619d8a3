import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFolderStore } from './local.ts';
import { PrefixRoutedStore } from './prefix-routed.ts';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PrefixRoutedStore', () => {
  it('puts each key in the store of its longest prefix and reads it back from there', async () => {
    dir = await mkdtemp(join(tmpdir(), 'recon-routed-'));
    const output = new LocalFolderStore(join(dir, 'output'));
    const work = new LocalFolderStore(join(dir, 'work'));
    const ckpt = new LocalFolderStore(join(dir, 'ckpt'));
    const special = new LocalFolderStore(join(dir, 'special'));
    const store = new PrefixRoutedStore(output, {
      'work/': work,
      'work/J/special/': special,
      'checkpoints/': ckpt,
    });
    await store.put('work/J/parts/a.bin', 'part');
    await store.put('work/J/special/x', 'deep');
    await store.put('checkpoints/J/checkpoint.json', '{}');
    await store.put('jobs/J/summary.json', '{"ok":true}');

    expect(await work.size('work/J/parts/a.bin')).toBe(4);
    expect(await special.size('work/J/special/x')).toBe(4);
    expect(await work.size('work/J/special/x')).toBeNull();
    expect(await ckpt.size('checkpoints/J/checkpoint.json')).toBe(2);
    expect(await output.size('jobs/J/summary.json')).toBe(11);
    expect(await output.size('work/J/parts/a.bin')).toBeNull();

    expect(Buffer.from(await store.getRange('work/J/parts/a.bin', 1, 3)).toString()).toBe('ar');
    expect(store.uri('checkpoints/J/checkpoint.json')).toBe(
      join(dir, 'ckpt', 'checkpoints/J/checkpoint.json'),
    );
    expect(await store.list('work/J/')).toEqual(['work/J/parts/a.bin', 'work/J/special/x']);
    await store.deletePrefix('work/J/');
    expect(await store.list('work/')).toEqual([]);
    expect(await store.list('')).toEqual(['checkpoints/J/checkpoint.json', 'jobs/J/summary.json']);
  });
});
