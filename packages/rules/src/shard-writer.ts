import { encodeShardRecord, type NormalizedRecord, type PartInfo } from '@recon/contracts';
import type { ShardSink } from './fast-record.ts';
import { shardOf } from './hash.ts';

/**
 * Encodes records straight into one growable byte buffer per shard, then lays the shards out
 * one after another as a part object, with the byte offsets the matchers use for ranged reads.
 * Writing bytes at once (instead of keeping a string per record) lets each record's strings die
 * young: at a million records, keeping them alive made garbage collection the main cost.
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

  /**
   * `expectedBytes`: about how many bytes of lines the part will hold (e.g. the size of the input
   * it is encoded from); each shard's buffer starts with its share and some room, so a part of the
   * expected size is written without growing (and copying) the buffers again and again.
   */
  constructor(shardCount: number, expectedBytes = 0) {
    this.shardCount = shardCount;
    const share = Math.ceil((expectedBytes * 1.25) / Math.max(1, shardCount));
    const initial = Math.max(1 << 16, Math.min(share + (1 << 12), 64 << 20));
    this.initial = new Array(shardCount).fill(initial);
    this.buffers = Array.from({ length: shardCount }, () => Buffer.allocUnsafe(initial));
    this.lengths = new Array(shardCount).fill(0);
  }

  /** `plain`: the caller knows no text field holds a tab, line break or backslash. */
  add(linha: number, record: NormalizedRecord, plain = false): void {
    const line = encodeShardRecord(linha, record, plain);
    const shard = shardOf(record.ordem_id, this.shardCount);
    const at = this.lengths[shard]!;
    // A line takes at most 3 bytes per UTF-16 code unit.
    const written = this.room(shard, at + line.length * 3).write(line, at, 'utf8');
    this.lengths[shard] = at + written;
    this.total += written;
  }

  /**
   * `ShardSink`: the buffer of `shard` with at least `need` bytes (the fast path writes into it);
   * a shard whose buffer `take` handed on starts a new one here.
   */
  room(shard: number, need: number): Buffer {
    const buffer = this.buffers[shard]!;
    if (need <= buffer.length) return buffer;
    const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, need, this.initial[shard]!));
    buffer.copy(grown, 0, 0, buffer.length);
    this.buffers[shard] = grown;
    return grown;
  }

  lengthOf(shard: number): number {
    return this.lengths[shard]!;
  }

  commit(shard: number, length: number): void {
    this.total += length - this.lengths[shard]!;
    this.lengths[shard] = length;
  }

  /** Bytes buffered so far. */
  get size(): number {
    return this.total;
  }

  /**
   * The part's bytes, in parts (each shard's, in order; ObjectStore.put writes them without
   * joining them), and its offsets: the shard buffers themselves, handed on. Empties the writer; a
   * shard written again starts a buffer of its own, as large as the one handed on.
   */
  take(key: string): { body: Buffer[]; part: PartInfo } {
    const body: Buffer[] = [];
    const offsets = [0];
    let at = 0;
    for (let s = 0; s < this.shardCount; s++) {
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
    return { body, part: { key, offsets } };
  }
}

const EMPTY = Buffer.alloc(0);
