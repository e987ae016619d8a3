// Loads the worker bundle (worker-bundle.ts) with V8's code cache. Plain JavaScript: worker
// threads run it without the TypeScript loader.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * Runs a CommonJS bundle as Node runs a CommonJS module (the same wrapper, a `require` that
 * resolves from the bundle's folder), compiled with the V8 code cache at `cachePath` when there is
 * one: V8 then skips parsing the 2 MB bundle and compiling the functions it runs on load, which
 * took a worker thread about 60 ms of its start.
 *
 * V8 checks the cache against the source, its own version and its flags, and rejects it when any
 * differs; the bundle is then compiled from source as without a cache. When the cache was missing
 * or rejected, a new one is written (atomically: other threads may be reading it) for the next
 * load. A cache that cannot be written (a read-only folder) only costs that speed.
 *
 * That first cache holds what loading compiled; the functions a job compiles later (parsing,
 * matching, reporting) are compiled lazily, on first call. `saveCache`, called once the thread
 * has done its work (WorkerPool.close asks), writes the cache again with them, when this load did
 * not use a cache (a load that used one leaves it as it is). The next process's threads then
 * start their jobs with those functions compiled.
 *
 * @param {string} bundlePath
 * @param {string} cachePath
 * @returns {{ exports: unknown, cache: 'used' | 'created' | 'rejected', saveCache: () => boolean }}
 */
export function loadBundle(bundlePath, cachePath) {
  const source = readFileSync(bundlePath, 'utf8');
  let cachedData;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  // On the bundle's first line, as Node's own wrapper: line numbers in stack traces stay right.
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, { filename: bundlePath, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  );
  const cache =
    cachedData === undefined ? 'created' : script.cachedDataRejected === true ? 'rejected' : 'used';
  let save = cache !== 'used';
  if (save) writeCache(script, cachePath);
  const saveCache = () => {
    if (!save) return false;
    save = false;
    return writeCache(script, cachePath);
  };
  return { exports: module.exports, cache, saveCache };
}

/**
 * @param {Script} script
 * @param {string} cachePath
 * @returns {boolean} whether it was written
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

/** Where the worker loader leaves the bundle's `saveCache` for the code it runs (worker.ts). */
export const SAVE_CODE_CACHE = Symbol.for('recon.saveCodeCache');
