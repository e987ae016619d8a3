import { divergenceColumnsToRows, encodeShardRecord, type ShardRecord } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { classifyShard, type ShardInput } from './classify.ts';
import { DEFAULT_SEVERITY, type SeverityPolicy } from './severity.ts';

const rec = (o: Partial<ShardRecord> & { ordem_id: string }): ShardRecord => ({
  linha: 0,
  fornecedor_id: 'FORN-1',
  nome: 'Maria Silva',
  ativo_id: 'ATV-1',
  data: '2026-11-20',
  valor: '100.00',
  ...o,
});

type RunInput = Omit<Partial<ShardInput>, 'vendor' | 'base'> & {
  vendor?: ShardRecord[];
  base?: ShardRecord[];
};

/** classifyShard, its divergence columns read back as rows. */
function classify(input: ShardInput) {
  const out = classifyShard(input);
  return { ...out, divergences: divergenceColumnsToRows(out.divergences) };
}

/** Encodes the records as the partition service does (one slice per side), then classifies. */
function run({ vendor = [], base = [], ...partial }: RunInput) {
  const encode = (records: ShardRecord[]) => [records.map((r) => encodeShardRecord(r.linha, r)).join('')];
  return classify({
    jobId: 'JOB-20261122-000001',
    scope: 'date-window',
    window: { from: '2026-11-01', to: '2026-11-21' },
    timestamp: 1_700_000_000_000,
    severity: DEFAULT_SEVERITY,
    ...partial,
    vendor: encode(vendor),
    base: encode(base),
  });
}

describe('classifyShard (RULES §4)', () => {
  it('TIPO_1: in the file, not in the base', () => {
    const out = run({ vendor: [rec({ ordem_id: 'A', linha: 5 })] });
    expect(out.divergences).toHaveLength(1);
    expect(out.divergences[0]).toMatchObject({
      tipo_divergencia: 'TIPO_1',
      severidade: 'HIGH',
      valor_csv: '100.00',
      valor_base: null,
      diferenca: null,
      data_base: null,
      linha_arquivo: 5,
      campo: null,
    });
    expect(out.divergences[0]!.hash_linha).toMatch(/^[0-9a-f]{64}$/);
    expect(out.counts).toMatchObject({
      vendorValid: 1,
      matched: 0,
      baseInScope: 0,
      divergentOrders: 1,
      distinctOrders: 1,
    });
  });

  it('TIPO_2: in the base scope, not in the file', () => {
    const out = run({ base: [rec({ ordem_id: 'B', valor: '7.00' })] });
    expect(out.divergences[0]).toMatchObject({
      tipo_divergencia: 'TIPO_2',
      severidade: 'HIGH',
      valor_csv: null,
      valor_base: '7.00',
      data: '2026-11-20',
      data_base: '2026-11-20',
      linha_arquivo: null,
    });
  });

  it('one row per differing field, with exact diferenca and pt-BR detalhes', () => {
    const out = run({
      vendor: [
        rec({
          ordem_id: 'C',
          linha: 2,
          valor: '3172.76',
          data: '2026-11-20',
          nome: 'Ana',
          ativo_id: 'X',
          fornecedor_id: 'F2',
        }),
      ],
      base: [
        rec({
          ordem_id: 'C',
          valor: '3180.00',
          data: '2026-11-19',
          nome: 'Ana B',
          ativo_id: 'Y',
          fornecedor_id: 'F1',
        }),
      ],
    });
    expect(out.divergences.map((d) => [d.tipo_divergencia, d.campo, d.severidade])).toEqual([
      ['TIPO_3_ATIVO', 'ativo_id', 'LOW'],
      ['TIPO_3_DATA', 'data', 'MEDIUM'],
      ['TIPO_3_FORNECEDOR', 'fornecedor_id', 'MEDIUM'],
      ['TIPO_3_NOME', 'nome', 'LOW'],
      ['TIPO_3_VALOR', 'valor', 'MEDIUM'],
    ]);
    const valor = out.divergences.find((d) => d.campo === 'valor')!;
    expect(valor.detalhes).toBe('valor no arquivo 3172.76, na base 3180.00 (diferença -7.24)');
    expect(valor.diferenca).toBe('-7.24');
    expect(out.divergences.find((d) => d.campo === 'data')!.detalhes).toBe(
      'data no arquivo 2026-11-20, na base 2026-11-19',
    );
    expect(new Set(out.divergences.map((d) => d.hash_linha)).size).toBe(1);
    expect(out.counts).toMatchObject({ matched: 1, divergentOrders: 1, distinctOrders: 1, rows: 5 });
  });

  it('an exact match yields nothing', () => {
    const out = run({ vendor: [rec({ ordem_id: 'D', linha: 12 })], base: [rec({ ordem_id: 'D' })] });
    expect(out.divergences).toEqual([]);
    expect(out.counts).toMatchObject({ matched: 1, divergentOrders: 0, distinctOrders: 1 });
  });

  it('compares text with tabs and line breaks exactly (escaped in the shard format)', () => {
    const same = run({
      vendor: [rec({ ordem_id: 'T\t1', nome: 'a\tb\nc', linha: 2 })],
      base: [rec({ ordem_id: 'T\t1', nome: 'a\tb\nc' })],
    });
    expect(same.divergences).toEqual([]);
    const differs = run({
      vendor: [rec({ ordem_id: 'T\t1', nome: 'a\tb' })],
      base: [rec({ ordem_id: 'T\t1', nome: 'a b' })],
    });
    expect(differs.divergences.map((d) => [d.ordem_id, d.detalhes])).toEqual([
      ['T\t1', 'nome no arquivo "a\tb", na base "a b"'],
    ]);
  });

  it('a value equal in length but different is still a divergence', () => {
    const out = run({
      vendor: [rec({ ordem_id: 'Q', valor: '100.01' })],
      base: [rec({ ordem_id: 'Q', valor: '100.10' })],
    });
    expect(out.divergences.map((d) => d.tipo_divergencia)).toEqual(['TIPO_3_VALOR']);
  });

  it.each([
    ['1100.00', '100.00', 'HIGH'],
    ['1099.99', '100.00', 'MEDIUM'],
    ['101.00', '100.00', 'MEDIUM'],
    ['100.99', '100.00', 'LOW'],
    ['100.00', '100.01', 'LOW'],
    ['-900.00', '100.00', 'HIGH'],
  ])('TIPO_3_VALOR severity: %s vs %s → %s', (file, baseValor, sev) => {
    const out = run({
      vendor: [rec({ ordem_id: 'E', valor: file })],
      base: [rec({ ordem_id: 'E', valor: baseValor })],
    });
    expect(out.divergences[0]!.severidade).toBe(sev);
  });

  it('severity is configurable per type and by valor thresholds', () => {
    const policy: SeverityPolicy = {
      byType: { ...DEFAULT_SEVERITY.byType, TIPO_1: 'LOW' },
      valor: { high: '10.00', medium: '5.00' },
    };
    const out = run({
      severity: policy,
      vendor: [rec({ ordem_id: 'F' }), rec({ ordem_id: 'G', valor: '110.00' })],
      base: [rec({ ordem_id: 'G' })],
    });
    expect(out.divergences.map((d) => d.severidade)).toEqual(['LOW', 'HIGH']);
  });
});

describe('duplicates and scope (RULES §2, §5)', () => {
  it('reconciles the first occurrence and rejects later ones', () => {
    const out = run({
      vendor: [
        rec({ ordem_id: 'H', linha: 3, valor: '1.00' }),
        rec({ ordem_id: 'H', linha: 9, valor: '2.00' }),
      ],
      base: [rec({ ordem_id: 'H', valor: '1.00' })],
    });
    expect(out.divergences).toEqual([]);
    expect(out.vendorDuplicates).toEqual([
      {
        linha: 9,
        motivo: 'DUPLICATE_ORDEM_ID',
        mensagem: 'ordem_id H repetido (primeira ocorrência na linha 3, que foi conciliada)',
        conteudo: null,
      },
    ]);
    expect(out.counts).toMatchObject({ vendorValid: 1, vendorDuplicates: 1 });
  });

  it('a base row whose date left the window is TIPO_3_DATA, not TIPO_1', () => {
    const out = run({
      vendor: [rec({ ordem_id: 'I', data: '2026-11-20' })],
      base: [rec({ ordem_id: 'I', data: '2025-01-01' })],
    });
    expect(out.divergences.map((d) => d.tipo_divergencia)).toEqual(['TIPO_3_DATA']);
  });

  it('base rows outside the window and not in the file are out of scope under date-window, in scope under all', () => {
    const base = [
      rec({ ordem_id: 'J', data: '2025-01-01' }),
      rec({ ordem_id: 'K', data: '2026-11-21' }),
      rec({ ordem_id: 'L', data: '2026-11-01' }),
    ];
    const windowed = run({ base });
    expect(windowed.divergences.map((d) => d.ordem_id)).toEqual(['K', 'L']);
    expect(windowed.counts.baseInScope).toBe(2);
    const all = run({ base, scope: 'all' });
    expect(all.divergences.map((d) => d.ordem_id)).toEqual(['J', 'K', 'L']);
    const noWindow = run({ base, window: null });
    expect(noWindow.divergences).toEqual([]);
  });

  it('refuses a line number past int32 (linha_arquivo is int32) with a clear error', () => {
    const last = 2 ** 31 - 2;
    // The largest line number that fits: matched (claimed) and TIPO_1 alike.
    expect(() =>
      run({
        vendor: [rec({ ordem_id: 'A', linha: last }), rec({ ordem_id: 'B', linha: last - 1 })],
        base: [rec({ ordem_id: 'A' })],
      }),
    ).not.toThrow();
    for (const base of [[rec({ ordem_id: 'A' })], []]) {
      expect(() => run({ vendor: [rec({ ordem_id: 'A', linha: last + 1 })], base })).toThrow(
        /line 2147483647 is past the int32 line numbers of linha_arquivo/,
      );
    }
  });

  it('sorts rows by (tipo_divergencia, ordem_id)', () => {
    const out = run({
      vendor: [rec({ ordem_id: 'Z' }), rec({ ordem_id: 'M' }), rec({ ordem_id: 'N', valor: '1.00' })],
      base: [rec({ ordem_id: 'Y' }), rec({ ordem_id: 'N' }), rec({ ordem_id: 'B' })],
    });
    expect(out.divergences.map((d) => `${d.tipo_divergencia}:${d.ordem_id}`)).toEqual([
      'TIPO_1:M',
      'TIPO_1:Z',
      'TIPO_2:B',
      'TIPO_2:Y',
      'TIPO_3_VALOR:N',
    ]);
    expect(out.counts.bySupplier).toEqual({ 'FORN-1': 5 });
    expect(out.counts.distinctOrders).toBe(5);
    expect(out.counts.divergentOrders).toBe(5);
  });

  it('sorts ordem_id as strings compare, where their UTF-8 or escaped bytes would not', () => {
    // UTF-16 puts a surrogate pair (🙂) before U+FF01, UTF-8 after it; an escaped tab or backslash
    // sorts by the character, not by its escape's backslash. ASCII keys sort among them.
    const ids = ['a\u{1F642}', 'a\uFF01', 'a\tb', 'a!b', 'a\\b', 'a', 'ab', 'a\u00e9', 'A', 'a\u0303'];
    const out = run({
      vendor: ids.map((ordem_id, k) => rec({ ordem_id, linha: k + 2 })),
      base: ids.map((ordem_id) => rec({ ordem_id: `${ordem_id}.base` })),
    });
    const sorted = (list: string[]) => [...list].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const tipo1 = out.divergences.filter((d) => d.tipo_divergencia === 'TIPO_1').map((d) => d.ordem_id);
    const tipo2 = out.divergences.filter((d) => d.tipo_divergencia === 'TIPO_2').map((d) => d.ordem_id);
    expect(tipo1).toEqual(sorted(ids));
    expect(tipo1).not.toEqual(ids);
    expect(tipo2).toEqual(sorted(ids.map((id) => `${id}.base`)));
  });
});

describe('classifyShard on latin1-decoded parts (binary)', () => {
  it('gives exactly what it gives on decoded text, with non-ASCII, escapes and duplicates', () => {
    const names = ['Maria Silva', 'João Conceição', 'Jo\u0303ao', 'Nguyễn 😀', 'tab\tand\\back', '山田'];
    const vendor: ShardRecord[] = [];
    const base: ShardRecord[] = [];
    for (let k = 0; k < 300; k++) {
      const ordem_id = k % 50 === 0 ? `ORD-é${k}` : `ORD-${k}`;
      const r = rec({ ordem_id, linha: k + 2, nome: names[k % names.length]!, valor: `${k}.00` });
      if (k % 7 !== 0) vendor.push(r);
      if (k % 11 !== 0) {
        const changed =
          k % 5 === 0
            ? { nome: names[(k + 1) % names.length]!, fornecedor_id: 'FORN-ç' }
            : k % 13 === 0
              ? { valor: `${k}.01`, data: '2026-10-01' }
              : {};
        base.push({ ...r, linha: k + 1000, ...changed });
      }
      if (k % 37 === 0) vendor.push({ ...r, linha: k + 5000 });
      if (k % 41 === 0) base.push({ ...r, linha: k + 6000, nome: 'Dupê' });
    }
    const encode = (records: ShardRecord[]) => records.map((r) => encodeShardRecord(r.linha, r)).join('');
    const common = {
      jobId: 'JOB-20261122-000001',
      scope: 'date-window' as const,
      window: { from: '2026-11-01', to: '2026-11-21' },
      timestamp: 1_700_000_000_000,
      severity: DEFAULT_SEVERITY,
    };
    const v = encode(vendor);
    const b = encode(base);
    const cut = v.indexOf('\n', 4000) + 1; // slices hold whole lines
    const text = classify({ ...common, vendor: [v.slice(0, cut), v.slice(cut)], base: [b] });
    const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    const binary = classify({ ...common, vendor: [latin1(v)], base: [latin1(b)], binary: true });
    expect(text.divergences.length).toBeGreaterThan(50);
    expect(text.vendorDuplicates.length).toBeGreaterThan(3);
    expect(text.baseDuplicates.length).toBeGreaterThan(3);
    expect(binary).toEqual(text);
    expect(text.divergences.some((d) => d.nome === 'João Conceição')).toBe(true);
  });
});
