import { COLUMNS, FileRejectedError } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { canonicalLine, hashLinha, shardOf } from './hash.ts';
import { parseHeader } from './header.ts';
import { normalizeRecord } from './record.ts';
import { maskNome, normalizeText, trimField } from './text.ts';

const canonicalOrder = [0, 1, 2, 3, 4, 5];

describe('parseHeader (RULES §2)', () => {
  it('accepts the six names in any order, any case, trimmed, with a BOM', () => {
    expect(
      parseHeader(['\uFEFFOrdem_ID', ' valor ', 'NOME', 'ativo_id', 'data', 'Fornecedor_Id'], 'f.csv'),
    ).toEqual([5, 0, 2, 3, 4, 1]);
    expect(parseHeader([...COLUMNS], 'f.csv')).toEqual(canonicalOrder);
  });

  it('names missing, unknown and repeated columns', () => {
    expect(() =>
      parseHeader(['fornecedor_id', 'ordem_id', 'nome', 'ativo', 'data', 'data'], 'vendor.csv'),
    ).toThrow(
      /vendor\.csv, line 1: invalid header — missing column\(s\): ativo_id, valor; unknown column\(s\): "ativo"; repeated column\(s\): data/,
    );
    try {
      parseHeader(['a'], 'x');
    } catch (e) {
      expect(e).toBeInstanceOf(FileRejectedError);
      expect((e as FileRejectedError).code).toBe('INVALID_HEADER');
    }
  });
});

describe('normalizeRecord (RULES §2–§3)', () => {
  it('normalizes every field', () => {
    const r = normalizeRecord(
      [' FORN-1 ', '\tORD-9\t', 'Jose\u0301 Silva', ' ATV-1', '21/11/2026', '1.234,565'],
      canonicalOrder,
    );
    expect(r).toEqual({
      ok: true,
      record: {
        fornecedor_id: 'FORN-1',
        ordem_id: 'ORD-9',
        nome: 'José Silva',
        ativo_id: 'ATV-1',
        data: '2026-11-21',
        valor: '1234.56',
      },
    });
  });

  it('maps columns through the header order', () => {
    const r = normalizeRecord(['ORD-1', '10,00', 'n', 'a', '2026-01-02', 'F'], [5, 0, 2, 3, 4, 1]);
    expect(r.ok && r.record).toEqual({
      fornecedor_id: 'F',
      ordem_id: 'ORD-1',
      nome: 'n',
      ativo_id: 'a',
      data: '2026-01-02',
      valor: '10.00',
    });
  });

  it.each([
    [['a', 'b', 'c', 'd', 'e'], 'FIELD_COUNT', 'encontrados 5'],
    [['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'FIELD_COUNT', 'encontrados 7'],
    [['F', '  ', 'n', 'a', '2026-01-01', '1'], 'MISSING_ORDEM_ID', 'ordem_id'],
    [['F', 'O', 'n', 'a', '2026-02-30', '1'], 'INVALID_DATE', 'data inexistente'],
    [['F', 'O', 'n', 'a', '2026/01/01', '1'], 'INVALID_DATE', 'AAAA-MM-DD'],
    [['F', 'O', 'n', 'a', '2026-01-01', '1,2x'], 'INVALID_VALOR', 'coluna valor: "1,2x"'],
    [['F', 'O', 'n', 'a', '2026-01-01', ''], 'INVALID_VALOR', 'vazio'],
  ])('rejects %j as %s', (fields, motivo, fragment) => {
    const r = normalizeRecord(fields, canonicalOrder);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.motivo).toBe(motivo);
      expect(r.mensagem).toContain(fragment);
    }
  });
});

describe('text rules', () => {
  it('trims only spaces and tabs', () => {
    expect(trimField(' \t a b \t ')).toBe('a b');
    expect(trimField('\u00a0x\u00a0')).toBe('\u00a0x\u00a0');
  });
  it('normalizes to NFC and stays case-sensitive', () => {
    expect(normalizeText('Joa\u0303o')).toBe('João');
    expect(normalizeText('Joa\u0303o')).toBe(normalizeText('João'));
    expect(normalizeText('silva')).not.toBe(normalizeText('Silva'));
  });
  it('masks all but the last word of a nome', () => {
    expect(maskNome('Maria da Silva')).toBe('***Silva');
    expect(maskNome('Silva')).toBe('***Silva');
    expect(maskNome('')).toBe('***');
  });
});

describe('hashes', () => {
  const record = {
    fornecedor_id: 'F',
    ordem_id: 'ORD-1',
    nome: 'José',
    ativo_id: 'A',
    data: '2026-01-01',
    valor: '1.00',
  };
  it('hashes the canonical line with SHA-256', () => {
    expect(canonicalLine(record)).toBe('F;ORD-1;José;A;2026-01-01;1.00');
    // echo -n 'F;ORD-1;José;A;2026-01-01;1.00' | sha256sum
    expect(hashLinha(record)).toBe('02a7d4363baf82c6b91f6da4874c44021acb3ee5369d7b344a1bc667bca60fc6');
  });
  it('puts an order in a stable shard within range', () => {
    expect(shardOf('ORD-1', 16)).toBe(shardOf('ORD-1', 16));
    const seen = new Set<number>();
    for (let k = 0; k < 1000; k++) seen.add(shardOf(`ORD-${k}`, 8));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
