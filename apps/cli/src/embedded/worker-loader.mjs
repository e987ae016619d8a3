// Worker threads start here when the worker is bundled (worker-bundle.ts): the bundle's path and
// its code cache's are the last two arguments the pool gives the thread.
import { loadBundle } from './bundle-loader.mjs';

const [bundlePath, cachePath] = process.argv.slice(-2);
loadBundle(bundlePath, cachePath);
