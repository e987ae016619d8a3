import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type BundleSite, bundle, withoutTsx } from './worker-bundle.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A tiny workspace: `entry.ts` exports what `dep.ts` says. */
async function site(): Promise<BundleSite> {
  const root = await mkdtemp(join(tmpdir(), 'recon-bundle-'));
  dirs.push(root);
  await mkdir(join(root, 'src'));
  await writeFile(
    join(root, 'src', 'entry.ts'),
    "import { value } from './dep.ts';\nexport const answer: string = value;\n",
  );
  await writeFile(join(root, 'src', 'dep.ts'), "export const value: string = 'one';\n");
  return { entry: join(root, 'src', 'entry.ts'), root, cacheDir: join(root, 'cache') };
}

async function load(path: string): Promise<string> {
  return ((await import(`${pathToFileURL(path).href}?t=${Date.now()}`)) as { answer: string }).answer;
}

describe('worker bundle', () => {
  it('reuses the cached bundle while the sources are unchanged', async () => {
    const s = await site();
    const first = await bundle(s);
    expect(await load(first)).toBe('one');
    const built = (await stat(first)).mtimeMs;
    const again = await bundle(s);
    expect(again).toBe(first);
    expect((await readdir(s.cacheDir)).filter((n) => n.startsWith('bundle-'))).toHaveLength(1);
    expect((await stat(again)).mtimeMs).toBeGreaterThanOrEqual(built);
  });

  it('never runs stale code: an edit of the same size and modification time is rebuilt', async () => {
    const s = await site();
    const dep = join(s.root, 'src', 'dep.ts');
    const before = await stat(dep);
    const first = await bundle(s);
    expect(await load(first)).toBe('one');
    // Same length, mtime put back: only the contents tell.
    await writeFile(dep, "export const value: string = 'two';\n");
    await utimes(dep, before.atime, before.mtime);
    const second = await bundle(s);
    expect(second).not.toBe(first);
    expect(await load(second)).toBe('two');
  });

  it('rebuilds when a package.json of the workspace changes', async () => {
    const s = await site();
    const first = await bundle(s);
    await writeFile(join(s.root, 'package.json'), '{ "name": "changed" }\n');
    expect(await bundle(s)).not.toBe(first);
  });

  it('fails (and workers then load through tsx) when the bundle cannot be cached', async () => {
    const s = await site();
    await writeFile(join(s.root, 'not-a-dir'), '');
    await expect(bundle({ ...s, cacheDir: join(s.root, 'not-a-dir', 'cache') })).rejects.toThrow();
  });

  it('runs workers without the TypeScript loader, keeping other Node options', () => {
    expect(withoutTsx(['--import', 'tsx'])).toEqual([]);
    expect(
      withoutTsx([
        '--require',
        '/r/node_modules/.pnpm/tsx@4.23.15/node_modules/tsx/dist/preflight.cjs',
        '--import',
        'file:///r/node_modules/.pnpm/tsx@4.23.15/node_modules/tsx/dist/loader.mjs',
      ]),
    ).toEqual([]);
    expect(withoutTsx(['--import=tsx', '--max-old-space-size=4096', '--import', './other.mjs'])).toEqual([
      '--max-old-space-size=4096',
      '--import',
      './other.mjs',
    ]);
    expect(withoutTsx(['--cpu-prof', '-r', 'tsx/cjs'])).toEqual(['--cpu-prof']);
  });
});
