/**
 * TEST ONLY. The hash the orders' table keys on, in TypeScript: `hashBytes` of
 * assembly/shard-matcher.ts (shard-matcher-wasm.test.ts checks them against each other), with
 * which the tests make keys that collide. A well-mixed 32-bit hash of bytes [start, end) (`words`
 * reads the same bytes four at a time): each four-byte word mixed in by a multiply (as FxHash
 * does), the bytes left one by one, then murmur3's finalizer. (The shard of a record is FNV-1a
 * modulo the shard count: a hash sharing FNV's low bits would make every key of a shard collide
 * in the table.)
 */
export function hashBytes(bytes: Buffer, words: DataView, start: number, end: number): number {
  let h = end - start;
  let k = start;
  for (; k <= end - 4; k += 4) h = Math.imul(h ^ words.getUint32(k, true), 0x9e3779b1);
  for (; k < end; k++) h = Math.imul(h ^ bytes[k]!, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
