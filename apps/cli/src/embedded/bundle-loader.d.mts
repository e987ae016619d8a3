/** See bundle-loader.mjs. */
export function loadBundle(
  bundlePath: string,
  cachePath: string,
): { exports: unknown; cache: 'used' | 'created' | 'rejected'; saveCache: () => boolean };

/** See bundle-loader.mjs. */
export const SAVE_CODE_CACHE: unique symbol;
