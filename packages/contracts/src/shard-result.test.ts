import { describe, expect, it } from 'vitest';
import type { DivergenceRow } from './divergence.ts';
import {
  decodeShardResultV2,
  divergenceColumnsToRows,
  divergenceRowsToColumns,
  encodeShardResult,
  isShardResultV2,
} from './shard-result.ts';

const row = (o: Partial<DivergenceRow>): DivergenceRow => ({
  job_id: 'JOB-20261122-000001',
  tipo_divergencia: 'TIPO_3_VALOR',
  severidade: 'MEDIUM',
  ordem_id: 'ORD-1',
  fornecedor_id: 'F',
  nome: 'José da Silva',
  ativo_id: 'A',
  data: '2026-11-20',
  data_base: '2026-11-19',
  valor_csv: '10.00',
  valor_base: '9.00',
  diferenca: '1.00',
  campo: 'valor',
  detalhes: 'valor no arquivo 10.00, na base 9.00 (diferença 1.00)',
  hash_linha: 'a'.repeat(64),
  linha_arquivo: 7,
  timestamp: 1_763_800_000_000,
  ...o,
});

describe('shard result, version 2', () => {
  const rows = [
    row({}),
    row({
      tipo_divergencia: 'TIPO_2',
      ordem_id: 'Ω-2',
      valor_csv: null,
      diferenca: null,
      campo: null,
      linha_arquivo: null,
      nome: '',
    }),
    row({ nome: 'ação 漢字 🙂', detalhes: 'tab\there\nnewline' }),
  ];
  const output = {
    divergences: divergenceRowsToColumns(rows),
    vendorDuplicates: [{ linha: 9, motivo: 'DUPLICATE_ORDEM_ID' as const, mensagem: 'm', conteudo: null }],
    baseDuplicates: [],
    counts: {} as never,
  };

  it('round-trips every value, nulls and non-ASCII text included, and the duplicates', () => {
    const body = encodeShardResult(output);
    expect(isShardResultV2(body)).toBe(true);
    const decoded = decodeShardResultV2(body, 'k');
    expect(divergenceColumnsToRows(decoded.divergences)).toEqual(rows);
    expect(divergenceColumnsToRows(decoded.divergences)).toEqual(
      divergenceColumnsToRows(divergenceRowsToColumns(rows)),
    );
    expect(decoded.vendorDuplicates).toEqual(output.vendorDuplicates);
  });

  it('grows a column past its first guess: long and multi-byte values, many rows', () => {
    const long = row({ nome: 'ç漢🙂'.repeat(3000), detalhes: 'x'.repeat(70_000) });
    const many = Array.from({ length: 2000 }, (_, k) =>
      row({
        ordem_id: `ORD-${k}`,
        nome: k % 7 === 0 ? 'ã'.repeat(k) : 'n',
        data_base: k % 3 ? null : '2026-11-19',
      }),
    );
    const all = [long, ...many, long];
    expect(divergenceColumnsToRows(divergenceRowsToColumns(all))).toEqual(all);
  });

  it('refuses a value that is neither text nor null, naming the row and the column', () => {
    const bad = row({ nome: undefined as unknown as string });
    expect(() => divergenceRowsToColumns([row({}), bad])).toThrow(
      /divergence 1: nome is neither a string nor null/,
    );
  });

  it('rejects a truncated body, naming the object', () => {
    const body = encodeShardResult(output);
    expect(() =>
      decodeShardResultV2(body.subarray(0, body.byteLength - 64), 'work/J/results/shard-0001.rsr'),
    ).toThrow(/shard-0001\.rsr: section .* missing or truncated/);
  });

  it('is not mistaken for JSON (version 1)', () => {
    expect(isShardResultV2(Buffer.from(JSON.stringify(output)))).toBe(false);
  });
});
