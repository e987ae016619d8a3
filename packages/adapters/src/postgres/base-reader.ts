import type { BaseReader } from '@recon/contracts';

/**
 * The `BaseReader` port over a PostgreSQL relation (`extractBaseText`). pg and the extraction code
 * are loaded on first use: threads and processes that never read the base never load them.
 */
export function pgBaseReader(url: string): BaseReader {
  return {
    async *read(relation, scope, slice) {
      const { extractBaseText } = await import('./base-extract.ts');
      yield* extractBaseText({ url, relation, scope, ...(slice === undefined ? {} : { slice }) });
    },
  };
}
