import type { NormalizedRecord } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { ShardWriter } from './shard-writer.ts';

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
function filled(from: number, to: number, writer = new ShardWriter(8, 1000)): ShardWriter {
  for (let i = from; i < to; i++) writer.add(i + 2, record(i));
  return writer;
}

describe('ShardWriter', () => {
  it('takeParts gives the bytes and offsets of take, in parts', () => {
    const { body, part } = filled(0, 3000).take('k');
    const parts = filled(0, 3000).takeParts('k');
    expect(parts.part).toEqual(part);
    expect(parts.body).toHaveLength(8);
    expect(Buffer.concat(parts.body)).toEqual(body);
    parts.body.forEach((piece, s) => {
      expect(piece.length).toBe(part.offsets[s + 1]! - part.offsets[s]!);
    });
  });

  it('leaves the parts it handed on untouched when writing goes on', () => {
    const writer = filled(0, 2000);
    const first = writer.takeParts('a');
    const copy = Buffer.concat(first.body);
    filled(2000, 5000, writer);
    expect(Buffer.concat(first.body)).toEqual(copy);
    // The next part holds only the lines written since, as a fresh writer would.
    expect(Buffer.concat(writer.takeParts('b').body)).toEqual(filled(2000, 5000).take('b').body);
  });
});
