/** See bundle-loader.mjs. */
export function loadBundle(
  bundlePath: string,
  cachePath: string,
): { exports: unknown; cache: 'used' | 'created' | 'rejected'; afterRun: boolean };

/** Where the bundle's code cache written after a run is. */
export function runCachePath(cachePath: string): string;

/** The global through which the worker's code reaches its loader (see bundle-loader.mjs). */
export const CODE_CACHE: unique symbol;
