/**
 * Seeded pseudo-random numbers. Everything the generator draws comes from here, so the same
 * seed and options always give byte-identical files (no Math.random, no clock).
 */

/** One step of splitmix32: a good 32-bit mixer for deriving independent seeds. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit seed derived from (seed, index, stream); distinct streams are independent. */
export function deriveSeed(seed: number, index: number, stream: number): number {
  return mix32(mix32(mix32(seed >>> 0) ^ index) ^ Math.imul(stream + 1, 0x27d4eb2d));
}

/** xoshiro128** — the global generator (category shuffles, id permutation). */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = deriveSeed(seed, 0, 100);
    this.b = deriveSeed(seed, 1, 100);
    this.c = deriveSeed(seed, 2, 100);
    this.d = deriveSeed(seed, 3, 100);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform uint32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n), n ≤ 2^32 (53-bit draw, negligible bias). */
  int(n: number): number {
    const hi = this.next() >>> 5;
    const lo = this.next() >>> 6;
    return Math.floor(((hi * 67108864 + lo) / 9007199254740992) * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * mulberry32 with re-seedable state: one instance is reused for every record (no allocation in
 * the hot loop); `reset(seed, index, stream)` makes the draws a pure function of the record.
 */
export class RecordRng {
  private s = 0;

  reset(seed: number, index: number, stream: number): this {
    this.s = deriveSeed(seed, index, stream);
    return this;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform-enough integer in [0, n) for small n. */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }

  /** True with probability pct/100. */
  chance(pct: number): boolean {
    return this.next() / 4294967296 < pct / 100;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}
