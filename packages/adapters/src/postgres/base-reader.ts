import type { BaseReader } from '@recon/contracts';
import type { OrderLookups } from './order-lookup.ts';

/**
 * The `BaseReader` port over a PostgreSQL relation (`extractBaseText`, `OrderLookups`). pg and the
 * extraction code are loaded on first use: threads and processes that never read the base never
 * load them.
 */
export function pgBaseReader(url: string): BaseReader {
  let lookups: Promise<OrderLookups> | undefined;
  return {
    async *read(relation, scope, slice) {
      const { extractBaseText } = await import('./base-extract.ts');
      yield* extractBaseText({ url, relation, scope, ...(slice === undefined ? {} : { slice }) });
    },
    async ordersLookupable(relation) {
      const { ordersLookupable } = await import('./order-lookup.ts');
      return ordersLookupable(url, relation);
    },
    async lookupOrders(relation, ordemIds, window) {
      lookups ??= import('./order-lookup.ts').then((m) => new m.OrderLookups(url));
      return (await lookups).lookup(relation, ordemIds, window);
    },
  };
}
