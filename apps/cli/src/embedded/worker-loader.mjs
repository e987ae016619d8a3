// Worker threads start here when the worker is bundled (worker-bundle.ts): the bundle's path and
// its code cache's are the last two arguments the pool gives the thread.
import { loadBundle, SAVE_CODE_CACHE } from './bundle-loader.mjs';

const [bundlePath, cachePath] = process.argv.slice(-2);
// The bundle (worker.ts) saves the code cache again when the pool closes (see loadBundle).
globalThis[SAVE_CODE_CACHE] = loadBundle(bundlePath, cachePath).saveCache;
