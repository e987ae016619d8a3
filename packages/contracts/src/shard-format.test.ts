import { describe, expect, it } from 'vitest';
import { decodeShardRecords, encodeShardRecord, type ShardRecord } from './shard-format.ts';

describe('shard part format', () => {
  it('round-trips records whose text holds tabs, line breaks and backslashes', () => {
    const records: ShardRecord[] = [
      {
        linha: 2,
        ordem_id: 'O\\1',
        fornecedor_id: 'F\t1',
        nome: 'Maria\nSilva\r',
        ativo_id: '\\t',
        data: '2026-01-01',
        valor: '-1.00',
      },
      {
        linha: 7,
        ordem_id: 'ORD-2',
        fornecedor_id: 'F',
        nome: 'José',
        ativo_id: 'A',
        data: '2026-01-02',
        valor: '0.00',
      },
    ];
    const text = records.map((r) => encodeShardRecord(r.linha, r)).join('');
    expect(text.split('\n')).toHaveLength(3);
    const back: ShardRecord[] = [];
    decodeShardRecords(text, (r) => back.push(r));
    expect(back).toEqual(records);
  });
});
