import { encodeShardRecord, type NormalizedRecord, type PartInfo } from '@recon/contracts';
import { type ShardSink, slotOfHash } from './fast-record.ts';
import { orderHash } from './hash.ts';

/** Most buckets a shard's lines are kept in (`ShardWriter`): 2^6. */
export const MAX_BUCKET_BITS = 6;

/** The `bucketBits` of a number of buckets per shard (`JobRequested.shardBuckets`; absent: 1). */
export function bucketBitsOf(buckets: number | undefined): number {
  const n = buckets ?? 1;
  const bits = Math.log2(n);
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_BUCKET_BITS) {
    throw new RangeError(`${n} buckets per shard: expected a power of two from 1 to ${1 << MAX_BUCKET_BITS}`);
  }
  return bits;
}

/**
 * Encodes records straight into one growable byte buffer per shard, then lays the shards out
 * one after another as a part object, with the byte offsets the matchers use for ranged reads.
 * Writing bytes at once (instead of keeping a string per record) lets each record's strings die
 * young: at a million records, keeping them alive made garbage collection the main cost.
 *
 * With `buckets` 2^b > 1, each shard's lines are kept in 2^b buckets by their order's hash
 * (`slotOfHash`), one buffer each, laid out side by side: a shard's slice of the part is still one
 * byte range, and the matcher matches it a bucket at a time, on tables small enough to stay in the
 * cache (an order's lines all fall in one bucket, on both sides).
 */
export class ShardWriter implements ShardSink {
  private buffers: Buffer[];
  private lengths: number[];
  /**
   * The size a shard's buffer starts at: at first its share of the expected bytes; after `take`
   * (which hands the buffers on) the size its last buffer had reached, so a next part of the same
   * size is written without growing (and copying) the buffers again.
   */
  private readonly initial: number[];
  private total = 0;
  readonly shardCount: number;
  readonly bucketBits: number;
  /** Buffers: shardCount × 2^bucketBits. */
  private readonly slots: number;

  /**
   * `buckets`: per shard (`JobRequested.shardBuckets`; a power of two up to 64).
   * `expectedBytes`: about how many bytes of lines the part will hold (e.g. the size of the input
   * it is encoded from); each shard's buffer starts with its share and some room, so a part of the
   * expected size is written without growing (and copying) the buffers again and again.
   */
  constructor(shardCount: number, expectedBytes = 0, buckets = 1) {
    const bucketBits = bucketBitsOf(buckets);
    this.shardCount = shardCount;
    this.bucketBits = bucketBits;
    this.slots = shardCount << bucketBits;
    const share = Math.ceil((expectedBytes * 1.25) / Math.max(1, this.slots));
    const initial = Math.max(1 << (bucketBits === 0 ? 16 : 12), Math.min(share + (1 << 12), 64 << 20));
    this.initial = new Array(this.slots).fill(initial);
    this.buffers = Array.from({ length: this.slots }, () => Buffer.allocUnsafe(initial));
    this.lengths = new Array(this.slots).fill(0);
  }

  /**
   * Called with a slot before a line is written to it (`add`, `lengthOf`): lines held elsewhere for
   * that slot (the WebAssembly encoder's, `encodeRecordBlock`) come first, through `append`.
   */
  beforeWrite: ((slot: number) => void) | null = null;

  /** `plain`: the caller knows no text field holds a tab, line break or backslash. */
  add(linha: number, record: NormalizedRecord, plain = false): void {
    const line = encodeShardRecord(linha, record, plain);
    const slot = slotOfHash(orderHash(record.ordem_id), this.shardCount, this.bucketBits);
    this.beforeWrite?.(slot);
    const at = this.lengths[slot]!;
    // A line takes at most 3 bytes per UTF-16 code unit.
    const written = this.room(slot, at + line.length * 3).write(line, at, 'utf8');
    this.lengths[slot] = at + written;
    this.total += written;
  }

  /**
   * `ShardSink`: the buffer of `slot` with at least `need` bytes (the fast path writes into it);
   * a slot whose buffer `take` handed on starts a new one here.
   */
  room(slot: number, need: number): Buffer {
    const buffer = this.buffers[slot]!;
    if (need <= buffer.length) return buffer;
    const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, need, this.initial[slot]!));
    buffer.copy(grown, 0, 0, buffer.length);
    this.buffers[slot] = grown;
    return grown;
  }

  lengthOf(slot: number): number {
    this.beforeWrite?.(slot);
    return this.lengths[slot]!;
  }

  /** Whole encoded lines, bytes [from, to) of `src`, after the lines of `slot`. */
  append(slot: number, src: Uint8Array, from: number, to: number): void {
    const at = this.lengths[slot]!;
    const buffer = this.room(slot, at + to - from);
    buffer.set(src.subarray(from, to), at);
    this.lengths[slot] = at + to - from;
    this.total += to - from;
  }

  commit(slot: number, length: number): void {
    this.total += length - this.lengths[slot]!;
    this.lengths[slot] = length;
  }

  /** Bytes buffered so far. */
  get size(): number {
    return this.total;
  }

  /**
   * The part's bytes, in parts (each shard's, or each bucket's, in order; ObjectStore.put writes
   * them without joining them), and its offsets: the buffers themselves, handed on. Empties the
   * writer; a slot written again starts a buffer of its own, as large as the one handed on.
   */
  take(key: string): { body: Buffer[]; part: PartInfo } {
    const body: Buffer[] = [];
    const offsets = [0];
    let at = 0;
    for (let s = 0; s < this.slots; s++) {
      const length = this.lengths[s]!;
      const buffer = this.buffers[s]!;
      body.push(buffer.subarray(0, length));
      at += length;
      offsets.push(at);
      this.initial[s] = Math.max(this.initial[s]!, buffer.length);
      this.buffers[s] = EMPTY;
    }
    this.lengths.fill(0);
    this.total = 0;
    return {
      body,
      part: this.bucketBits === 0 ? { key, offsets } : { key, offsets, buckets: 1 << this.bucketBits },
    };
  }
}

const EMPTY = Buffer.alloc(0);
