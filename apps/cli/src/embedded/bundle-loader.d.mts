/** See bundle-loader.mjs. */
export function loadBundle(
  bundlePath: string,
  cachePath: string,
): { exports: unknown; cache: 'used' | 'created' | 'rejected' };
