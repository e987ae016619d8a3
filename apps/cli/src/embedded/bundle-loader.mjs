// Loads the worker bundle (worker-bundle.ts) with V8's code cache. Plain JavaScript: worker
// threads run it without the TypeScript loader.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * Where the bundle's code cache after a run is: see `loadBundle`.
 *
 * @param {string} cachePath
 */
export function runCachePath(cachePath) {
  return `${cachePath}.run`;
}

/**
 * What the worker's code can ask of the loader that compiled it (a global, as the bundle runs
 * inside `loadBundle`): whether the code cache it used was one written after a run, and writing
 * that one. Absent when the worker was not loaded from a bundle.
 */
export const CODE_CACHE = Symbol.for('recon.worker.codeCache');

/**
 * Runs a CommonJS bundle as Node runs a CommonJS module (the same wrapper, a `require` that
 * resolves from the bundle's folder), compiled with V8's code cache when there is one: V8 then
 * skips parsing the 2 MB bundle and compiling the functions the cache holds.
 *
 * Two caches: the one at `cachePath`, written when the bundle is first loaded (the functions run
 * on load: it saved a worker thread about 60 ms of its start), and the one at
 * `runCachePath(cachePath)`, written once a worker has done a job's work (`CODE_CACHE.write`, when
 * the pool closes): it also holds the functions compiled for that work, which a cold job's
 * threads would otherwise compile on the way (on the 1M-line day, ~0.25 s of CPU and ~4% of a
 * cold job's time). The run cache is used when there is one.
 *
 * V8 checks a cache against the source, its own version and its flags, and rejects it when any
 * differs; the bundle is then compiled from source as without a cache. When the load cache was
 * missing or rejected, a new one is written (atomically: other threads may be reading it) for the
 * next load; a rejected run cache is deleted (written again after a run). A cache that cannot be
 * written (a read-only folder) only costs that speed.
 *
 * @param {string} bundlePath
 * @param {string} cachePath
 * @returns {{ exports: unknown, cache: 'used' | 'created' | 'rejected', afterRun: boolean }}
 */
export function loadBundle(bundlePath, cachePath) {
  const source = readFileSync(bundlePath, 'utf8');
  const afterRunPath = runCachePath(cachePath);
  let cachedData = readIfAny(afterRunPath);
  const triedAfterRun = cachedData !== undefined;
  cachedData ??= readIfAny(cachePath);
  // On the bundle's first line, as Node's own wrapper: line numbers in stack traces stay right.
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, { filename: bundlePath, cachedData });
  const cache =
    cachedData === undefined ? 'created' : script.cachedDataRejected === true ? 'rejected' : 'used';
  if (cache === 'rejected' && triedAfterRun) rmSync(afterRunPath, { force: true });
  const afterRun = triedAfterRun && cache === 'used';
  /** @type {Record<symbol, unknown>} */ (globalThis)[CODE_CACHE] = {
    afterRun,
    write: () => writeCache(script, afterRunPath),
  };
  const module = { exports: {} };
  script.runInThisContext()(
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  );
  if (cache !== 'used') writeCache(script, cachePath);
  return { exports: module.exports, cache, afterRun };
}

/** @param {string} path */
function readIfAny(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Whether the cache could be written.
 *
 * @param {Script} script
 * @param {string} cachePath
 * @returns {boolean}
 */
function writeCache(script, cachePath) {
  const temporary = `${cachePath}.${process.pid}.${threadId}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cachePath);
    return true;
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
}
