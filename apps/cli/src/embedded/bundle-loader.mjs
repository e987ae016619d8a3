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
 * @param {string} bundlePath
 * @param {string} cachePath
 * @returns {{ exports: unknown, cache: 'used' | 'created' | 'rejected' }}
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
  if (cache !== 'used') writeCache(script, cachePath);
  return { exports: module.exports, cache };
}

/**
 * @param {Script} script
 * @param {string} cachePath
 */
function writeCache(script, cachePath) {
  const temporary = `${cachePath}.${process.pid}.${threadId}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cachePath);
  } catch {
    rmSync(temporary, { force: true });
  }
}
