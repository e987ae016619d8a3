import { encodeShardRecord, type NormalizedRecord } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { shardOf } from './hash.ts';
import { ShardWriter } from './shard-writer.ts';

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
});
