import { encodeShardRecord, type NormalizedRecord } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { orderHash, shardOf } from './hash.ts';
import { bucketBitsOf, ShardWriter } from './shard-writer.ts';

const SHARDS = 8;

function record(i: number): NormalizedRecord {
  return {
    fornecedor_id: `FORN-${i % 7}`,
    ordem_id: `ORD-${i}`,
    nome: `Nome ${'ção '.repeat(i % 9)}`,
    ativo_id: `ATV-${i % 5}`,
    data: '2026-11-20',
    valor: `${i}.05`,
  };
}

/** Lines written into a writer (small buffers: some shards grow past their first one). */
function filled(from: number, to: number, writer = new ShardWriter(SHARDS, 1000)): ShardWriter {
  for (let i = from; i < to; i++) writer.add(i + 2, record(i));
  return writer;
}

/** Each shard's lines, as the format encodes them, in the order they were written. */
function expectedShards(from: number, to: number): string[] {
  const shards: string[] = new Array(SHARDS).fill('');
  for (let i = from; i < to; i++)
    shards[shardOf(record(i).ordem_id, SHARDS)] += encodeShardRecord(i + 2, record(i));
  return shards;
}

describe('ShardWriter', () => {
  it('takes a part as each shard’s lines, in shard order, with their offsets', () => {
    const { body, part } = filled(0, 3000).take('k');
    const shards = expectedShards(0, 3000);
    expect(body.map((piece) => piece.toString('utf8'))).toEqual(shards);
    expect(part.key).toBe('k');
    let at = 0;
    expect(part.offsets).toEqual([0, ...shards.map((s) => (at += Buffer.byteLength(s)))]);
  });

  it('leaves the parts it handed on untouched when writing goes on', () => {
    const writer = filled(0, 2000);
    const first = writer.take('a');
    const copy = Buffer.concat(first.body);
    filled(2000, 5000, writer);
    expect(Buffer.concat(first.body).equals(copy)).toBe(true);
    // The next part holds only the lines written since.
    expect(writer.take('b').body.map((piece) => piece.toString('utf8'))).toEqual(expectedShards(2000, 5000));
  });

  it('keeps each shard’s lines in buckets by the top bits of the order’s hash, side by side', () => {
    const writer = new ShardWriter(SHARDS, 1000, 8);
    for (let i = 0; i < 3000; i++) writer.add(i + 2, record(i));
    const { body, part } = writer.take('k');
    expect(part.buckets).toBe(8);
    expect(body).toHaveLength(SHARDS * 8);
    const expected: string[] = new Array(SHARDS * 8).fill('');
    for (let i = 0; i < 3000; i++) {
      const top = (orderHash(record(i).ordem_id) >>> 29) & 7;
      expected[shardOf(record(i).ordem_id, SHARDS) * 8 + top] += encodeShardRecord(i + 2, record(i));
    }
    expect(body.map((piece) => piece.toString('utf8'))).toEqual(expected);
    expect(expected.filter((lines) => lines.length > 0)).toHaveLength(SHARDS * 8);
    let at = 0;
    expect(part.offsets).toEqual([0, ...expected.map((s) => (at += Buffer.byteLength(s)))]);
    // A shard's buckets, one after another, hold exactly its lines.
    const shards = expectedShards(0, 3000);
    for (let s = 0; s < SHARDS; s++) {
      const lines = body
        .slice(s * 8, s * 8 + 8)
        .map((piece) => piece.toString('utf8'))
        .join('');
      expect(lines.split('\n').sort()).toEqual(shards[s]!.split('\n').sort());
    }
  });

  it('nests buckets: bucket k of 2^(b-1) holds the lines of buckets 2k and 2k+1 of 2^b', () => {
    const four = filled(0, 3000, new ShardWriter(SHARDS, 1000, 4)).take('four').body;
    const eight = filled(0, 3000, new ShardWriter(SHARDS, 1000, 8)).take('eight').body;
    for (let s = 0; s < SHARDS; s++) {
      for (let k = 0; k < 4; k++) {
        const halves = eight[s * 8 + 2 * k]!.toString('utf8') + eight[s * 8 + 2 * k + 1]!.toString('utf8');
        expect(halves.split('\n').sort()).toEqual(four[s * 4 + k]!.toString('utf8').split('\n').sort());
      }
    }
  });

  it('writes one bucket per shard, the part without buckets, by default', () => {
    const { part } = filled(0, 100).take('k');
    expect(part.buckets).toBeUndefined();
    expect(part.offsets).toHaveLength(SHARDS + 1);
  });

  it('takes 1 to 64 buckets per shard, powers of two only', () => {
    expect(bucketBitsOf(undefined)).toBe(0);
    expect(bucketBitsOf(1)).toBe(0);
    expect(bucketBitsOf(8)).toBe(3);
    expect(bucketBitsOf(64)).toBe(6);
    for (const bad of [0, 3, 12, 128, 0.5]) expect(() => bucketBitsOf(bad)).toThrow('power of two');
    expect(() => new ShardWriter(4, 0, 128)).toThrow('128 buckets per shard');
    expect(() => new ShardWriter(4, 0, 3)).toThrow('3 buckets per shard');
  });
});
