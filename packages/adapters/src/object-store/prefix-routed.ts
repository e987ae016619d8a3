import type { ObjectBody, ObjectStore } from '@recon/contracts';

/**
 * One object store over several: each key goes to the store of its longest matching prefix
 * (e.g. `work/` → the intermediate bucket, `checkpoints/` → the checkpoints bucket), the rest to
 * the default. Keys stay whole in every store, so a bucket's IAM grants name the same prefixes.
 */
export class PrefixRoutedStore implements ObjectStore {
  private readonly routes: [string, ObjectStore][];

  constructor(
    private readonly fallback: ObjectStore,
    routes: Record<string, ObjectStore>,
  ) {
    this.routes = Object.entries(routes).sort((a, b) => b[0].length - a[0].length);
  }

  private storeOf(key: string): ObjectStore {
    return this.routes.find(([prefix]) => key.startsWith(prefix))?.[1] ?? this.fallback;
  }

  put(key: string, body: ObjectBody): Promise<void> {
    return this.storeOf(key).put(key, body);
  }
  putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    return this.storeOf(key).putStream(key, body);
  }
  get(key: string): Promise<Uint8Array> {
    return this.storeOf(key).get(key);
  }
  getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.storeOf(key).getRange(key, start, end);
  }
  getStream(key: string): AsyncIterable<Uint8Array> {
    return this.storeOf(key).getStream(key);
  }
  size(key: string): Promise<number | null> {
    return this.storeOf(key).size(key);
  }
  uri(key: string): string {
    return this.storeOf(key).uri(key);
  }

  /** Every store that may hold keys under `prefix`. */
  private storesUnder(prefix: string): ObjectStore[] {
    const stores = new Set<ObjectStore>([this.storeOf(prefix)]);
    for (const [route, store] of this.routes) if (route.startsWith(prefix)) stores.add(store);
    return [...stores];
  }

  async list(prefix: string): Promise<string[]> {
    const lists = await Promise.all(this.storesUnder(prefix).map((s) => s.list(prefix)));
    return [...new Set(lists.flat())].sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    await Promise.all(this.storesUnder(prefix).map((s) => s.deletePrefix(prefix)));
  }
}
