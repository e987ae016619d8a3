import { encodeShardRecord, type NormalizedRecord, type PartInfo } from '@recon/contracts';
import { shardOf } from '@recon/rules';

/**
 * Buffers encoded records per shard and lays them out as one part object, shard after shard,
 * with the byte offsets the matchers use for ranged reads.
 */
export class ShardWriter {
  private shards: string[][];
  private chars = 0;
  readonly shardCount: number;

  constructor(shardCount: number) {
    this.shardCount = shardCount;
    this.shards = Array.from({ length: shardCount }, () => []);
  }

  add(linha: number, record: NormalizedRecord): void {
    const line = encodeShardRecord(linha, record);
    this.shards[shardOf(record.ordem_id, this.shardCount)]!.push(line);
    this.chars += line.length;
  }

  /** Approximate buffered size (UTF-16 code units). */
  get size(): number {
    return this.chars;
  }

  /** The part's bytes and offsets; empties the writer. */
  take(key: string): { body: Buffer; part: PartInfo } {
    const buffers: Buffer[] = [];
    const offsets = [0];
    let total = 0;
    for (const lines of this.shards) {
      const buffer = Buffer.from(lines.join(''), 'utf8');
      buffers.push(buffer);
      total += buffer.length;
      offsets.push(total);
    }
    this.shards = Array.from({ length: this.shardCount }, () => []);
    this.chars = 0;
    return { body: Buffer.concat(buffers, total), part: { key, offsets } };
  }
}
