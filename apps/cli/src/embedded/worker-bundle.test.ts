import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBundle, runCachePath } from './bundle-loader.mjs';
import { type BundleSite, bundle, codeCachePath, findOrBuildBundle, withoutTsx } from './worker-bundle.ts';

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

/**
 * loadBundle in a new worker thread (a fresh V8 isolate): the bundle's answer and the cache's fate.
 * `run`: then call the bundle's `work` and have the loader write the code cache after that run.
 */
async function loadInThread(
  path: string,
  cachePath: string,
  run = false,
): Promise<{ answer: string; cache: string; afterRun?: boolean; written?: boolean }> {
  const loader = new URL('./bundle-loader.mjs', import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(loader)}).then((m) => {
      const r = m.loadBundle(${JSON.stringify(path)}, ${JSON.stringify(cachePath)});
      const out = { answer: r.exports.answer, cache: r.cache };
      if (${run}) {
        r.exports.work(1000);
        Object.assign(out, { afterRun: r.afterRun, written: globalThis[m.CODE_CACHE].write() });
      }
      require('node:worker_threads').parentPort.postMessage(out);
    });`,
    { eval: true, execArgv: [] },
  );
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

async function load(path: string): Promise<string> {
  return (loadBundle(path, codeCachePath(path)).exports as { answer: string }).answer;
}

describe('worker bundle', () => {
  it('reuses the cached bundle while the sources are unchanged', async () => {
    const s = await site();
    const { path: first, built: firstBuilt } = await findOrBuildBundle(s);
    expect(firstBuilt).toBe(true);
    expect(await load(first)).toBe('one');
    const built = (await stat(first)).mtimeMs;
    const { path: again, built: againBuilt } = await findOrBuildBundle(s);
    expect(again).toBe(first);
    expect(againBuilt).toBe(false);
    expect((await readdir(s.cacheDir)).filter((n) => /^bundle-.*\.cjs$/.test(n))).toHaveLength(1);
    expect((await stat(again)).mtimeMs).toBeGreaterThanOrEqual(built);
  });

  it('loads with the code cache the first load wrote; a cache V8 rejects is written again', async () => {
    const s = await site();
    const path = await bundle(s);
    const cachePath = codeCachePath(path);
    // Each load in a thread of its own: within one isolate V8 reuses its in-memory compilation.
    expect(await loadInThread(path, cachePath)).toEqual({ answer: 'one', cache: 'created' });
    expect((await stat(cachePath)).size).toBeGreaterThan(0);
    expect(await loadInThread(path, cachePath)).toEqual({ answer: 'one', cache: 'used' });
    // A cache of other code (or of another V8): rejected, the source compiled instead.
    await writeFile(cachePath, Buffer.alloc(4096, 7));
    expect(await loadInThread(path, cachePath)).toEqual({ answer: 'one', cache: 'rejected' });
    expect(await loadInThread(path, cachePath)).toEqual({ answer: 'one', cache: 'used' });
  });

  it('writes the code cache again after a run, with the functions that ran, and loads with that one', async () => {
    const s = await site();
    // A function compiled only when called (not on load): in the cache written after a run only.
    await writeFile(
      join(s.root, 'src', 'dep.ts'),
      `export const value: string = 'one';\nexport function work(n: number): number {\n  let sum = 0;\n  for (let k = 0; k < n; k++) sum += k % 7 === 0 ? k * 3 : k ^ 5;\n  return sum;\n}\n`,
    );
    await writeFile(join(s.root, 'src', 'entry.ts'), "export { value as answer, work } from './dep.ts';\n");
    const path = await bundle(s);
    const cachePath = codeCachePath(path);
    const afterRun = runCachePath(cachePath);
    expect(await loadInThread(path, cachePath, true)).toEqual({
      answer: 'one',
      cache: 'created',
      afterRun: false,
      written: true,
    });
    expect((await stat(afterRun)).size).toBeGreaterThan((await stat(cachePath)).size);
    expect(await loadInThread(path, cachePath, true)).toEqual({
      answer: 'one',
      cache: 'used',
      afterRun: true,
      written: true,
    });
    // Rejected (other code, another V8): deleted, and the cache written on load used meanwhile.
    await writeFile(afterRun, Buffer.alloc(4096, 7));
    expect(await loadInThread(path, cachePath)).toEqual({ answer: 'one', cache: 'rejected' });
    await expect(stat(afterRun)).rejects.toThrow(/ENOENT/);
    expect(await loadInThread(path, cachePath, true)).toEqual({
      answer: 'one',
      cache: 'used',
      afterRun: false,
      written: true,
    });
  });

  it('runs the bundle without a cache where none can be written', async () => {
    const s = await site();
    const path = await bundle(s);
    const unwritable = join(s.root, 'no-such-dir', 'bundle.cache');
    expect(await loadInThread(path, unwritable)).toEqual({ answer: 'one', cache: 'created' });
    expect(await loadInThread(path, unwritable)).toEqual({ answer: 'one', cache: 'created' });
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

  it('takes an earlier bundle again when the sources go back to what it was built from', async () => {
    const s = await site();
    const dep = join(s.root, 'src', 'dep.ts');
    const first = await bundle(s);
    const built = await stat(first);
    await writeFile(dep, "export const value: string = 'two';\n");
    const second = await bundle(s);
    expect(await load(second)).toBe('two');
    // The edit undone: the first bundle, not a new build of the same code (a build writes a new file).
    await writeFile(dep, "export const value: string = 'one';\n");
    const third = await bundle(s);
    expect(third).toBe(first);
    expect((await stat(third)).ino).toBe(built.ino);
    expect(await load(third)).toBe('one');
    // And the manifest names it again: the next check takes it straight away.
    expect(JSON.parse(await readFile(join(s.cacheDir, 'manifest.json'), 'utf8')).key).toBe(
      /bundle-(\w+)\.cjs$/.exec(first)![1],
    );
    expect(await bundle(s)).toBe(first);
  });

  it('rebuilds when a package.json of the workspace changes', async () => {
    const s = await site();
    const first = await bundle(s);
    await writeFile(join(s.root, 'package.json'), '{ "name": "changed" }\n');
    expect(await bundle(s)).not.toBe(first);
  });

  it('refuses code that finds files next to itself (import.meta would be empty in the bundle)', async () => {
    const s = await site();
    await writeFile(
      join(s.root, 'src', 'dep.ts'),
      "export const value: string = new URL('./data.txt', import.meta.url).href;\n",
    );
    await expect(bundle(s)).rejects.toThrow(/refers to its own location \(import\.meta in/);
  });

  it('bundles pino (its transports, which find scripts next to its code, are left out and refuse)', async () => {
    // Inside the workspace's adapters package, where pino resolves as it does for the workers.
    const root = await mkdtemp(
      join(fileURLToPath(new URL('../../../../packages/adapters/', import.meta.url)), '.bundle-test-'),
    );
    dirs.push(root);
    await writeFile(
      join(root, 'entry.ts'),
      [
        "import pino from 'pino';",
        'const lines: string[] = [];',
        "pino({ base: null }, { write: (line: string) => lines.push(line) }).info({ n: 1 }, 'logged');",
        "let refused = '';",
        'try {',
        "  pino.transport({ target: 'pino/file' });",
        '} catch (error) {',
        '  refused = (error as Error).message;',
        '}',
        'export const answer: string = JSON.stringify({ line: JSON.parse(lines[0]!), refused });',
        '',
      ].join('\n'),
    );
    const path = await bundle({ entry: join(root, 'entry.ts'), root, cacheDir: join(root, 'cache') });
    // Taken into the bundle, not required from node_modules.
    expect(await readFile(path, 'utf8')).not.toMatch(/require\("[^"]*[/\\]pino[/\\]pino\.js"\)/);
    const { answer } = await loadInThread(path, codeCachePath(path));
    const { line, refused } = JSON.parse(answer) as { line: { n: number; msg: string }; refused: string };
    expect(line).toMatchObject({ n: 1, msg: 'logged' });
    expect(refused).toBe('pino transports are not available in the recon worker bundle');
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
