import {
  type Campo,
  compareDivergences,
  type DivergenceRow,
  decodeShardLine,
  divergenceColumnsToRows,
  encodeShardRecord,
  type RejectedLine,
  type ShardRecord,
  type TipoDivergencia,
} from '@recon/contracts';
import { hashLinha, ShardWriter, subtractValor } from '@recon/rules';
import { describe, expect, it } from 'vitest';
import { pick, rng } from '../../../test/support/random.ts';
import {
  classifyShard,
  type DuplicateLine,
  emptyCounts,
  matchShard,
  type ShardInput,
  type ShardOutput,
} from './classify.ts';
import { DEFAULT_SEVERITY, type SeverityPolicy, valorSeverity } from './severity.ts';
import { hashBytes } from './testing.ts';

/**
 * The byte-table classifier must give exactly what the Map-based one it replaced gave, on shards
 * with every case: matches, each field differing, TIPO_1, TIPO_2 in and out of the window,
 * duplicates on both sides, escaped and multi-byte text, blank lines, slices without a final line
 * break — as bytes, as latin1 text and as text.
 */

/** A shard output with its divergence columns read back as rows. */
type RowsOutput = Omit<ShardOutput, 'divergences'> & { divergences: DivergenceRow[] };

function classify(input: ShardInput): RowsOutput {
  const out = classifyShard(input);
  return { ...out, divergences: divergenceColumnsToRows(out.divergences) };
}

type ReferenceInput = Omit<ShardInput, 'vendor' | 'base'> & {
  vendor: readonly string[];
  base: readonly string[];
};

const FIELD_CHECKS: { tipo: TipoDivergencia; campo: Campo }[] = [
  { tipo: 'TIPO_3_VALOR', campo: 'valor' },
  { tipo: 'TIPO_3_DATA', campo: 'data' },
  { tipo: 'TIPO_3_NOME', campo: 'nome' },
  { tipo: 'TIPO_3_ATIVO', campo: 'ativo_id' },
  { tipo: 'TIPO_3_FORNECEDOR', campo: 'fornecedor_id' },
];

const TAB = 9;

/** A latin1-decoded UTF-8 string back to the text it encodes. */
function fromBinary(value: string): string {
  for (let k = 0; k < value.length; k++) {
    if (value.charCodeAt(k) > 0x7f) return Buffer.from(value, 'latin1').toString('utf8');
  }
  return value;
}

/** Slices joined into one text, each ending with a line break (a slice is whole lines). */
function joinSlices(slices: readonly string[]): string {
  if (slices.length === 1 && slices[0]!.endsWith('\n')) return slices[0]!;
  return slices.map((t) => (t.length === 0 || t.endsWith('\n') ? t : `${t}\n`)).join('');
}

/** The Map implementation the byte table replaced, verbatim: the reference. */
function referenceClassify(input: ReferenceInput): RowsOutput {
  const { jobId, timestamp, severity } = input;
  const binary = input.binary === true;
  const decode = (text: string, start: number, end: number): ShardRecord => {
    const r = decodeShardLine(text.slice(start, end));
    if (!binary) return r;
    r.ordem_id = fromBinary(r.ordem_id);
    r.fornecedor_id = fromBinary(r.fornecedor_id);
    r.nome = fromBinary(r.nome);
    r.ativo_id = fromBinary(r.ativo_id);
    return r;
  };
  const counts = emptyCounts();
  const divergences: DivergenceRow[] = [];
  const baseDuplicates: RejectedLine[] = [];
  const vendorDuplicates: DuplicateLine[] = [];
  const push = (row: Omit<DivergenceRow, 'job_id' | 'timestamp'>) => {
    divergences.push({ job_id: jobId, ...row, timestamp });
  };

  const B = joinSlices(input.base);
  const orders = new Map<string, number>();
  const nb = B.length;
  for (let pos = 0; pos < nb; ) {
    let end = B.indexOf('\n', pos);
    if (end === -1) end = nb;
    if (end > pos) {
      const t1 = B.indexOf('\t', pos);
      const key = B.slice(t1 + 1, B.indexOf('\t', t1 + 1));
      const first = orders.get(key);
      if (first === undefined) orders.set(key, pos);
      else {
        const b = decode(B, pos, end);
        const firstLinha = parseLinha(B, first);
        counts.baseDuplicates++;
        baseDuplicates.push({
          linha: b.linha,
          motivo: 'DUPLICATE_ORDEM_ID',
          mensagem: `ordem_id ${b.ordem_id} repetido na base${firstLinha > 0 ? ` (primeira ocorrência na linha ${firstLinha})` : ''}; conteúdo normalizado`,
          conteudo: `${b.fornecedor_id};${b.ordem_id};${b.nome};${b.ativo_id};${b.data};${b.valor}`,
        });
      }
    }
    pos = end + 1;
  }

  const V = joinSlices(input.vendor);
  const nv = V.length;
  for (let pos = 0; pos < nv; ) {
    let end = V.indexOf('\n', pos);
    if (end === -1) end = nv;
    if (end === pos) {
      pos = end + 1;
      continue;
    }
    const t1 = V.indexOf('\t', pos);
    const t2 = V.indexOf('\t', t1 + 1);
    let linha = 0;
    for (let k = pos; k < t1; k++) linha = linha * 10 + (V.charCodeAt(k) - 48);
    const key = V.slice(t1 + 1, t2);
    const seen = orders.get(key);
    if (seen !== undefined && seen < 0) {
      counts.vendorDuplicates++;
      vendorDuplicates.push({
        linha,
        motivo: 'DUPLICATE_ORDEM_ID',
        mensagem: `ordem_id ${decode(V, pos, end).ordem_id} repetido (primeira ocorrência na linha ${-seen - 1}, que foi conciliada)`,
        conteudo: null,
      });
      pos = end + 1;
      continue;
    }
    orders.set(key, -linha - 1);
    counts.vendorValid++;
    if (seen === undefined) {
      const v = decode(V, pos, end);
      counts.divergentOrders++;
      push({
        tipo_divergencia: 'TIPO_1',
        severidade: severity.byType.TIPO_1,
        ordem_id: v.ordem_id,
        fornecedor_id: v.fornecedor_id,
        nome: v.nome,
        ativo_id: v.ativo_id,
        data: v.data,
        data_base: null,
        valor_csv: v.valor,
        valor_base: null,
        diferenca: null,
        campo: null,
        detalhes: `ordem ${v.ordem_id} está no arquivo (linha ${v.linha}) e não está na base`,
        hash_linha: hashLinha(v),
        linha_arquivo: v.linha,
      });
      pos = end + 1;
      continue;
    }
    counts.matched++;
    counts.baseInScope++;
    // Same key, so the base line's second tab is as far from its first as the vendor's.
    const bt1 = B.indexOf('\t', seen);
    const bRest = bt1 + (t2 - t1) + 1;
    let bEnd = B.indexOf('\n', bRest);
    if (bEnd === -1) bEnd = nb;
    if (!sameText(V, t2 + 1, end, B, bRest, bEnd)) {
      if (fieldDivergences(decode(V, pos, end), decode(B, seen, bEnd), severity, push))
        counts.divergentOrders++;
    }
    pos = end + 1;
  }

  // Base rows no vendor record matched: TIPO_2 when in scope (RULES §5).
  const window = input.window;
  for (const start of orders.values()) {
    if (start < 0) continue;
    let end = B.indexOf('\n', start);
    if (end === -1) end = nb;
    const b = decode(B, start, end);
    const inScope =
      input.scope === 'all' || (window !== null && b.data >= window.from && b.data <= window.to);
    if (!inScope) continue;
    counts.baseInScope++;
    counts.divergentOrders++;
    push({
      tipo_divergencia: 'TIPO_2',
      severidade: severity.byType.TIPO_2,
      ordem_id: b.ordem_id,
      fornecedor_id: b.fornecedor_id,
      nome: b.nome,
      ativo_id: b.ativo_id,
      data: b.data,
      data_base: b.data,
      valor_csv: null,
      valor_base: b.valor,
      diferenca: null,
      campo: null,
      detalhes: `ordem ${b.ordem_id} está na base e não está no arquivo`,
      hash_linha: hashLinha(b),
      linha_arquivo: null,
    });
  }
  counts.distinctOrders = counts.vendorValid + counts.baseInScope - counts.matched;

  divergences.sort(compareDivergences);
  for (const d of divergences) {
    counts.rows++;
    counts.byType[d.tipo_divergencia]++;
    counts.bySeverity[d.severidade]++;
    counts.bySupplier[d.fornecedor_id] = (counts.bySupplier[d.fornecedor_id] ?? 0) + 1;
  }
  return { divergences, vendorDuplicates, baseDuplicates, counts };
}

/** The `linha` at the start of the line at `pos`. */
function parseLinha(text: string, pos: number): number {
  let linha = 0;
  for (let k = pos; text.charCodeAt(k) !== TAB; k++) linha = linha * 10 + (text.charCodeAt(k) - 48);
  return linha;
}

/** a[aStart, aEnd) === b[bStart, bEnd), without slicing. */
function sameText(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let k = 0; k < aEnd - aStart; k++) {
    if (a.charCodeAt(aStart + k) !== b.charCodeAt(bStart + k)) return false;
  }
  return true;
}

/** One TIPO_3_* row per differing field; returns whether any field differed. */
function fieldDivergences(
  v: ShardRecord,
  b: ShardRecord,
  severity: SeverityPolicy,
  push: (row: Omit<DivergenceRow, 'job_id' | 'timestamp'>) => void,
): boolean {
  let hash: string | null = null;
  let diferenca: string | null = null;
  for (const { tipo, campo } of FIELD_CHECKS) {
    const fileValue = v[campo];
    const baseValue = b[campo];
    if (fileValue === baseValue) continue;
    hash ??= hashLinha(v);
    diferenca ??= subtractValor(v.valor, b.valor);
    push({
      tipo_divergencia: tipo,
      severidade:
        tipo === 'TIPO_3_VALOR'
          ? valorSeverity(severity, diferenca)
          : severity.byType[tipo as Exclude<TipoDivergencia, 'TIPO_3_VALOR'>],
      ordem_id: v.ordem_id,
      fornecedor_id: v.fornecedor_id,
      nome: v.nome,
      ativo_id: v.ativo_id,
      data: v.data,
      data_base: b.data,
      valor_csv: v.valor,
      valor_base: b.valor,
      diferenca,
      campo,
      detalhes:
        campo === 'valor'
          ? `valor no arquivo ${fileValue}, na base ${baseValue} (diferença ${diferenca})`
          : `${campo} no arquivo ${quoteIfText(campo, fileValue)}, na base ${quoteIfText(campo, baseValue)}`,
      hash_linha: hash,
      linha_arquivo: v.linha,
    });
  }
  return hash !== null;
}

function quoteIfText(campo: Campo, value: string): string {
  return campo === 'nome' ? `"${value}"` : value;
}

const NOMES = [
  'Maria Silva',
  'João Conceição',
  'Nguyễn Thị',
  '山田 太郎',
  'emoji 😀',
  'tab\tdentro',
  'barra\\',
  'x',
];
const DATAS = ['2026-11-01', '2026-11-20', '2026-10-31', '2026-11-22', '2025-01-01'];
const VALORES = ['100.00', '100.01', '-5.50', '0.00', '1234567.89', '99.99', '100.0', '1'];

function record(r: () => number, ordem: string, linha: number): ShardRecord {
  return {
    linha,
    ordem_id: ordem,
    fornecedor_id: `FORN-${Math.floor(r() * 4)}`,
    nome: pick(r, NOMES),
    ativo_id: `ATV-${Math.floor(r() * 3)}`,
    data: pick(r, DATAS),
    valor: pick(r, VALORES),
  };
}

/** A shard's two sides: shared orders (some changed), orders on one side only, duplicates. */
function shard(seed: number, orders: number): { vendor: ShardRecord[]; base: ShardRecord[] } {
  const r = rng(seed);
  const vendor: ShardRecord[] = [];
  const base: ShardRecord[] = [];
  const ordem = (k: number) => pick(r, ['ORD-', 'ORD-é', 'ORD\t', '山-', 'A'.repeat(1 + (k % 40))]) + k;
  for (let k = 0; k < orders; k++) {
    const id = ordem(k);
    const x = r();
    const b = record(r, id, r() < 0.5 ? 0 : 2 + Math.floor(r() * 1e6));
    const v: ShardRecord = { ...b, linha: 2 + Math.floor(r() * 1e6) };
    if (x < 0.1) vendor.push(record(r, id, v.linha));
    else if (x < 0.2) base.push(b);
    else {
      base.push(b);
      const changed = { ...v };
      if (r() < 0.15) changed.valor = pick(r, VALORES);
      if (r() < 0.1) changed.data = pick(r, DATAS);
      if (r() < 0.1) changed.nome = pick(r, NOMES);
      if (r() < 0.05) changed.ativo_id = 'ATV-9';
      if (r() < 0.05) changed.fornecedor_id = 'FORN-9';
      vendor.push(changed);
    }
    if (r() < 0.03) base.push(record(r, id, 2 + Math.floor(r() * 1e6)));
    if (r() < 0.03) vendor.push(record(r, id, 2 + Math.floor(r() * 1e6)));
  }
  // Vendor lines in file order, not by order id.
  for (let k = vendor.length - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [vendor[k], vendor[j]] = [vendor[j]!, vendor[k]!];
  }
  return { vendor, base };
}

/** The encoded lines cut into slices, some without their final line break, with blank lines. */
function slices(records: ShardRecord[], r: () => number): string[] {
  const text = records.map((x) => encodeShardRecord(x.linha, x)).join('');
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    let cut = text.indexOf('\n', at + Math.floor(r() * 2000));
    cut = cut === -1 ? text.length : cut + 1;
    let piece = text.slice(at, cut);
    if (r() < 0.3 && piece.endsWith('\n')) piece = piece.slice(0, -1);
    if (r() < 0.1) piece = `\n${piece}`;
    out.push(piece);
    at = cut;
  }
  return out;
}

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('classifyShard on bytes = the Map classifier it replaced', () => {
  it('gives the same rows, duplicates and counts, from bytes, latin1 text or text', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed * 7919);
      const { vendor, base } = shard(seed, seed === 1 ? 3 : 1500);
      const v = slices(vendor, r);
      const b = slices(base, r);
      const common = {
        jobId: 'JOB-20261122-000001',
        scope: seed % 4 === 0 ? ('all' as const) : ('date-window' as const),
        window: seed % 5 === 0 ? null : { from: '2026-11-01', to: '2026-11-21' },
        timestamp: 1_700_000_000_000,
        severity: DEFAULT_SEVERITY,
      };
      const expected = referenceClassify({ ...common, vendor: v, base: b });
      expect(expected.counts.matched + expected.vendorDuplicates.length).toBeGreaterThan(0);
      expect(classify({ ...common, vendor: v, base: b })).toEqual(expected);
      expect(
        classify({
          ...common,
          vendor: v.map((s) => Buffer.from(s)),
          base: b.map((s) => Buffer.from(s)),
        }),
      ).toEqual(expected);
      const binary = { ...common, vendor: v.map(latin1), base: b.map(latin1), binary: true };
      expect(classify(binary)).toEqual(referenceClassify(binary));
    }
  });

  it('keeps the first base line of an order and flags later vendor lines of a claimed order', () => {
    const r = rng(5);
    const { vendor, base } = shard(99, 400);
    const dup = base[0]!;
    const withDuplicates = [...base, { ...dup, linha: 7, valor: '1.00' }, { ...dup, linha: 8 }];
    const moreVendor = [...vendor, { ...vendor[0]!, linha: 9 }];
    const input = windowShard(slices(moreVendor, r), slices(withDuplicates, r));
    const out = classify(input);
    expect(out.baseDuplicates.length).toBeGreaterThanOrEqual(2);
    expect(out.vendorDuplicates.length).toBeGreaterThanOrEqual(1);
    expect(out).toEqual(referenceClassify(input));
  });

  it('tells apart orders whose keys share a slot of the table and differ in one byte', () => {
    // Keys of one length that differ only in their last byte and land on the same slot (the
    // smallest table has 1024): probing must tell them apart (by the hash kept in the slot, and
    // where hashes are equal, by every byte).
    const groups = new Map<number, string[]>();
    for (let k = 0; groups.size < 4 || [...groups.values()].every((g) => g.length < 2); k++) {
      for (const last of 'abcdefghijklmnopqrstuvwxyz') {
        const key = `P${String(k).padStart(5, '0')}${last}`;
        const slot = hashOf(key) & 1023;
        const group = groups.get(slot * 100000 + k) ?? [];
        group.push(key);
        groups.set(slot * 100000 + k, group);
      }
      for (const [g, keys] of groups) if (keys.length < 2) groups.delete(g);
    }
    const [first, second] = [...groups.values()].find((g) => g.length >= 2)!;
    expectToldApart(first!, second!);
  });

  it('hashes a key the same wherever it lies (vendor and base bytes place it at any offset)', () => {
    const r = rng(5);
    for (let n = 0; n < 2000; n++) {
      const key = Buffer.from(
        `ORD-${Math.floor(r() * 1e9)}${pick(r, ['', 'é', 'x', 'ab', '\\t'])}`.slice(0, 1 + (n % 20)),
      );
      const hashes = new Set<number>();
      for (let offset = 0; offset < 8; offset++) {
        const line = Buffer.concat([Buffer.alloc(offset, 9), key, Buffer.from('\t…\n')]);
        const words = new DataView(line.buffer, line.byteOffset, line.byteLength);
        hashes.add(hashBytes(line, words, offset, offset + key.length));
      }
      expect([...hashes]).toEqual([hashOf(key)]);
    }
  });

  it('tells apart orders whose keys have the same 32-bit hash', () => {
    // A birthday collision among a few hundred thousand keys: the slot's hash matches, the bytes
    // must decide.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let k = 0; pair === undefined; k++) {
      const key = `C${k}`;
      const hash = hashOf(key);
      const other = seen.get(hash);
      if (other !== undefined) pair = [other, key];
      else seen.set(hash, key);
    }
    expectToldApart(...pair);
  });

  it('tells apart orders whose keys have the same length and 32-bit hash', () => {
    // Keys of two words, w0 w1 and v0 v1, hash alike when (8 ^ w0)·c ^ w1 = (8 ^ v0)·c ^ v1 (the
    // same state before the finalizer): v1 is computed, until its bytes are printable ASCII.
    const C = 0x9e3779b1;
    const word = (key: Buffer, at: number) => key.readUInt32LE(at);
    const r = rng(9);
    const printable = () => 0x30 + Math.floor(r() * 42);
    let pair: [string, string] | undefined;
    while (pair === undefined) {
      const a = Buffer.from(Array.from({ length: 8 }, printable));
      const b = Buffer.from(Array.from({ length: 8 }, printable));
      const v1 = (Math.imul(8 ^ word(a, 0), C) ^ word(a, 4) ^ Math.imul(8 ^ word(b, 0), C)) >>> 0;
      b.writeUInt32LE(v1, 4);
      if (b.every((c) => c >= 0x30 && c < 0x7b) && !a.equals(b))
        pair = [a.toString('latin1'), b.toString('latin1')];
    }
    expect(hashOf(pair[0])).toBe(hashOf(pair[1]));
    expectToldApart(...pair);
  });

  it('grows its table past the first guess (short lines: more orders than bytes / 64)', () => {
    // Lines of ~30 bytes, most orders on one side only: the table, sized for about bytes / 64
    // orders, grows mid-shard (at least once whatever the power of two it starts at).
    const r = rng(7);
    const base: ShardRecord[] = [];
    const vendor: ShardRecord[] = [];
    for (let k = 0; k < 6000; k++) {
      if (k % 10 === 0) base.push({ ...rec(`K${k}`, 0), valor: pick(r, ['1.00', '2.00']) });
      if (r() < 0.95) vendor.push({ ...rec(`K${k}`, 2 + k), valor: pick(r, ['1.00', '2.00']) });
    }
    const input = allScopeShard(vendor, base);
    const out = classify(input);
    expect(out.counts.distinctOrders).toBeGreaterThan(5000);
    expect(out.counts.matched).toBeGreaterThan(500);
    expect(out).toEqual(referenceClassify(input));
  });

  it('keeps each order its own diferenca and severity past the first thousands of divergent orders', () => {
    // Thousands of divergent orders (the per-order store starts at about a thousand), TIPO_3_VALOR
    // with differences of every size (LOW, MEDIUM and HIGH) between orders with none (TIPO_1).
    const r = rng(13);
    const amount = () => {
      const cents = Math.floor(r() * 10 ** (1 + Math.floor(r() * 8)));
      return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    };
    const vendor: ShardRecord[] = [];
    const base: ShardRecord[] = [];
    for (let k = 0; k < 5000; k++) {
      const v = { ...rec(`V${k}`, 2 + k), valor: amount() };
      vendor.push(v);
      if (k % 4 !== 3) base.push({ ...v, linha: 0, valor: amount() });
    }
    const input = allScopeShard(vendor, base);
    const out = classify(input);
    const valor = out.divergences.filter((d) => d.tipo_divergencia === 'TIPO_3_VALOR');
    expect(valor.length).toBeGreaterThan(3000);
    expect(new Set(valor.map((d) => d.severidade))).toEqual(new Set(['LOW', 'MEDIUM', 'HIGH']));
    expect(out.divergences.filter((d) => d.tipo_divergencia === 'TIPO_1').length).toBeGreaterThan(1000);
    expect(out).toEqual(referenceClassify(input));
  });

  it('writes values far longer than the columns first guessed (names and keys of kilobytes)', () => {
    // The divergence columns are sized from the shard's average line: a few huge values among
    // short ones grow them mid-shard, and a canonical line longer than its first buffer too.
    const r = rng(11);
    const long = (k: number) => `${'Ç😀\t\\'.repeat(400 + k)}fim`;
    const vendor: ShardRecord[] = [];
    const base: ShardRecord[] = [];
    for (let k = 0; k < 300; k++) {
      const big = k % 50 === 7;
      const ordem = big ? `L${k}-${'x'.repeat(3000)}` : `S${k}`;
      const v = { ...rec(ordem, 2 + k), nome: big ? long(k) : 'n' };
      vendor.push(v);
      if (k % 3 === 0)
        base.push({ ...v, linha: 0, valor: pick(r, ['1.00', '2.50']), nome: big ? long(k + 1) : 'n' });
      else if (k % 3 === 1) base.push({ ...rec(`B${k}`, 0), nome: big ? long(k) : 'm' });
    }
    const input = allScopeShard(vendor, base);
    const out = classify(input);
    expect(out.divergences.some((d) => d.nome.length > 2000 && d.tipo_divergencia === 'TIPO_3_NOME')).toBe(
      true,
    );
    expect(out.divergences.some((d) => d.ordem_id.length > 3000 && d.tipo_divergencia === 'TIPO_1')).toBe(
      true,
    );
    expect(out).toEqual(referenceClassify(input));
  });

  it('matches a line only when its rest is equal to the end, not a prefix of it', () => {
    const input = {
      jobId: 'JOB-20261122-000001',
      scope: 'all' as const,
      window: null,
      timestamp: 0,
      severity: DEFAULT_SEVERITY,
      vendor: ['2\tA\tF\tn\ta\t2026-11-20\t1.0\n3\tB\tF\tn\ta\t2026-11-20\t1.00\n'],
      base: ['0\tA\tF\tn\ta\t2026-11-20\t1.00\n0\tB\tF\tn\ta\t2026-11-20\t1.0\n'],
    };
    const out = classify(input);
    expect(out.divergences.map((d) => d.ordem_id)).toEqual(['A', 'B']);
    expect(out).toEqual(referenceClassify(input));
  });
});

/** hashBytes of a key (UTF-8 of a string, or bytes) alone in a buffer of its own. */
function hashOf(key: string | Uint8Array): number {
  const bytes = Uint8Array.from(typeof key === 'string' ? Buffer.from(key) : key);
  return hashBytes(Buffer.from(bytes.buffer), new DataView(bytes.buffer), 0, bytes.length);
}

/**
 * Two orders whose keys the table confuses at first (same slot, or same hash): the base has
 * `first`, the vendor both; only `second` is missing from the base.
 */
function expectToldApart(first: string, second: string): void {
  const input = allScopeShard([rec(second, 2), rec(first, 3)], [rec(first, 0)]);
  const out = classify(input);
  expect(out.counts.matched).toBe(1);
  expect(out.divergences.map((d) => [d.tipo_divergencia, d.ordem_id])).toEqual([['TIPO_1', second]]);
  expect(out).toEqual(referenceClassify(input));
}

/** A shard in `date-window` scope (WINDOW) of the given slices. */
function windowShard(vendor: readonly string[], base: readonly string[]) {
  return shardInput('date-window', vendor, base);
}
const WINDOW = { from: '2026-11-01', to: '2026-11-21' };

/** A shard of these records, encoded as the partition writes them, with every date in scope. */
function allScopeShard(vendor: readonly ShardRecord[], base: readonly ShardRecord[]) {
  return shardInput('all', encoded(vendor), encoded(base));
}

/** A shard input of these slices: `date-window` over WINDOW, or `all` without a window. */
function shardInput(scope: 'date-window' | 'all', vendor: readonly string[], base: readonly string[]) {
  return {
    jobId: 'JOB-20261122-000001',
    scope,
    window: scope === 'all' ? null : WINDOW,
    timestamp: 0,
    severity: DEFAULT_SEVERITY,
    vendor,
    base,
  };
}

/** The records as one slice, each encoded as the partition writes it. */
function encoded(records: readonly ShardRecord[]): string[] {
  return [records.map((x) => encodeShardRecord(x.linha, x)).join('')];
}

function rec(ordem: string, linha: number): ShardRecord {
  return {
    linha,
    ordem_id: ordem,
    fornecedor_id: 'F',
    nome: 'n',
    ativo_id: 'a',
    data: '2026-11-20',
    valor: '1.00',
  };
}

/**
 * A shard for the lookup: its base as a uniquely indexed relation holds it (the first row of each
 * order), split into the lines in WINDOW and those out of it.
 */
function lookupShard(seed: number, orders: number) {
  const generated = shard(seed, orders);
  const inWindow = (x: ShardRecord) => x.data >= WINDOW.from && x.data <= WINDOW.to;
  const seen = new Set<string>();
  const base = generated.base.filter((x) => !seen.has(x.ordem_id) && seen.add(x.ordem_id) !== null);
  return {
    vendor: generated.vendor,
    windowLines: base.filter(inWindow),
    outside: base.filter((x) => !inWindow(x)),
  };
}

describe('a shard whose base slices hold the window only, its unmatched orders looked up', () => {
  it('classifies as the shard whose slices held every base line of its orders', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const r = rng(seed * 104_729);
      const generated = lookupShard(seed + 50, 1200);
      const { windowLines, outside } = generated;
      const vendor = slices(generated.vendor, r);
      const match = matchShard(windowShard(vendor, slices(windowLines, r)));
      const unmatched = new Set(match.unmatchedOrders());
      const asked = outside.filter((x) => unmatched.has(x.ordem_id));
      expect(asked.length).toBeGreaterThan(0);
      // What a lookup may also bring: a line of an order nobody asked for (out of the window, so
      // never TIPO_2), and a second line of an asked order (a base duplicate).
      const extra = outside.filter((x) => !unmatched.has(x.ordem_id)).slice(0, 3);
      const repeated = { ...asked[0]!, valor: '3.21' };
      const found = [...asked, ...extra, repeated];
      const reject: RejectedLine = {
        linha: 0,
        motivo: 'INVALID_DATE',
        mensagem: 'data vazia',
        conteudo: ';X;;;;',
      };
      const out = match.finish(
        [Buffer.from(found.map((x) => encodeShardRecord(x.linha, x)).join(''))],
        [reject],
      );
      const expected = classify(windowShard(vendor, slices([...windowLines, ...found], r)));
      expected.baseDuplicates.push(reject);
      expect({ ...out, divergences: divergenceColumnsToRows(out.divergences) }).toEqual(expected);
      expect(out.baseDuplicates.some((d) => d.conteudo.includes('3.21'))).toBe(true);
      expect(() => match.finish(null, [])).toThrow('finished twice');
    }
  });

  it('calls an unmatched order TIPO_1 when nothing is found, as classifyShard does', () => {
    const { vendor, base } = shard(77, 600);
    const input = windowShard(encoded(vendor), encoded(base));
    const match = matchShard(input);
    const unmatched = match.unmatchedOrders();
    const tipo1 = classify(input).divergences.filter((d) => d.tipo_divergencia === 'TIPO_1');
    expect(unmatched.length).toBe(tipo1.length);
    // In file order, decoded (tabs and accents as they are).
    const claimedFirst = new Set<string>();
    const inBase = new Set(base.map((x) => x.ordem_id));
    const fileOrder = vendor.filter(
      (x) =>
        !inBase.has(x.ordem_id) && !claimedFirst.has(x.ordem_id) && claimedFirst.add(x.ordem_id) !== null,
    );
    expect(unmatched).toEqual(fileOrder.map((x) => x.ordem_id));
    expect(unmatched.some((id) => id.includes('\t') || id.includes('é') || id.includes('山'))).toBe(true);
    expect({ ...match.finish(null, []), divergences: expect.anything() }).toMatchObject({
      counts: classify(input).counts,
    });
  });
});

/**
 * Parts as the partition writes them with buckets: the records cut into parts in file order, each
 * part's lines in 2^bits buckets of one shard (`ShardWriter`), with the size of each bucket.
 */
function bucketedParts(
  records: readonly ShardRecord[],
  r: () => number,
  bits: (part: number) => number,
): { slices: Buffer[]; buckets: (number[] | undefined)[] } {
  const slices: Buffer[] = [];
  const buckets: (number[] | undefined)[] = [];
  for (let at = 0; at < records.length; ) {
    const end = Math.min(records.length, at + 1 + Math.floor(r() * 400));
    const writer = new ShardWriter(1, 0, 2 ** bits(slices.length));
    for (const x of records.slice(at, end)) writer.add(x.linha, x);
    const { body } = writer.take('part');
    slices.push(Buffer.concat(body));
    buckets.push(body.length === 1 ? undefined : body.map((b) => b.length));
    at = end;
  }
  return { slices, buckets };
}

/** Rejected lines in a fixed order: bucket by bucket, a shard meets them in another one. */
function byLine<T extends { linha: number; mensagem: string }>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => a.linha - b.linha || a.mensagem.localeCompare(b.mensagem));
}

function sameOutput(actual: RowsOutput, expected: RowsOutput): void {
  expect({
    ...actual,
    vendorDuplicates: byLine(actual.vendorDuplicates),
    baseDuplicates: byLine(actual.baseDuplicates),
  }).toEqual({
    ...expected,
    vendorDuplicates: byLine(expected.vendorDuplicates),
    baseDuplicates: byLine(expected.baseDuplicates),
  });
}

describe('a shard whose parts keep its lines in buckets', () => {
  it('is matched a region at a time, with the rows, rejects and counts of the shard in one piece', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = rng(seed * 3571);
      const { vendor, base } = shard(seed + 200, 1500);
      const scope = seed % 3 === 0 ? 'all' : 'date-window';
      const expected = classify(shardInput(scope, encoded(vendor), encoded(base)));
      expect(expected.vendorDuplicates.length + expected.baseDuplicates.length).toBeGreaterThan(0);
      // Every part in 8 buckets; then some parts in 4 (regions: 4); then one part in 1 (regions: 1).
      for (const [vendorBits, baseBits, regions] of [
        [() => 3, () => 3, 8],
        [() => 3, (k: number) => (k % 2 === 0 ? 3 : 2), 4],
        [(k: number) => (k === 1 ? 0 : 3), () => 3, 1],
      ] as const) {
        const v = bucketedParts(vendor, r, vendorBits);
        const b = bucketedParts(base, r, baseBits);
        const input = {
          ...shardInput(scope, [], []),
          vendor: v.slices,
          base: b.slices,
          vendorBuckets: v.buckets,
          baseBuckets: b.buckets,
        };
        const match = matchShard(input);
        expect(match.regions).toBe(regions);
        const out = match.finish(null, []);
        sameOutput({ ...out, divergences: divergenceColumnsToRows(out.divergences) }, expected);
      }
    }
  });

  it('takes the base lines looked up for its unmatched orders in buckets of its regions', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const r = rng(seed * 7727);
      const generated = lookupShard(seed + 300, 1500);
      const { windowLines, outside } = generated;
      const v = bucketedParts(generated.vendor, r, () => 3);
      const b = bucketedParts(windowLines, r, () => 3);
      const match = matchShard({
        ...windowShard([], []),
        vendor: v.slices,
        base: b.slices,
        vendorBuckets: v.buckets,
        baseBuckets: b.buckets,
      });
      expect(match.regions).toBe(8);
      const unmatched = new Set(match.unmatchedOrders());
      // As a lookup brings them: the asked orders' lines, one of an order nobody asked for, and a
      // second line of an asked order (a base duplicate), in buckets of the shard's regions.
      const asked = outside.filter((x) => unmatched.has(x.ordem_id));
      expect(asked.length).toBeGreaterThan(10);
      const extra = outside.filter((x) => !unmatched.has(x.ordem_id)).slice(0, 3);
      const found = [...asked, ...extra, { ...asked[0]!, valor: '3.21' }];
      const writer = new ShardWriter(1, 0, 8);
      for (const x of found) writer.add(x.linha, x);
      const out = match.finish(writer.take('lookup').body, []);
      const expected = classify(windowShard(encoded(generated.vendor), encoded([...windowLines, ...found])));
      sameOutput({ ...out, divergences: divergenceColumnsToRows(out.divergences) }, expected);
      expect(out.baseDuplicates.some((d) => d.conteudo.includes('3.21'))).toBe(true);
    }
  });

  it('refuses buckets that do not add up to their slice, counts that are not powers of two, and lookups in other buckets', () => {
    const { vendor, base } = shard(400, 200);
    const v = bucketedParts(vendor, rng(1), () => 2);
    const b = bucketedParts(base, rng(2), () => 2);
    const input = { ...windowShard([], []), vendor: v.slices, base: b.slices, vendorBuckets: v.buckets };
    const short = v.buckets.map((sizes, k) =>
      k === 0 ? sizes!.map((n, i) => (i === 3 ? n - 1 : n)) : sizes,
    );
    expect(() => matchShard({ ...input, baseBuckets: b.buckets, vendorBuckets: short })).toThrow(
      /has buckets of \d+ bytes/,
    );
    const three = b.buckets.map((sizes) => [sizes![0]!, sizes![1]!, sizes![2]! + sizes![3]!]);
    expect(() => matchShard({ ...input, baseBuckets: three })).toThrow('3 buckets: expected a power of two');
    const match = matchShard({ ...input, baseBuckets: b.buckets });
    expect(match.regions).toBe(4);
    expect(() => match.finish([Buffer.from(encodeShardRecord(2, base[0]!))], [])).toThrow(
      'looked-up base lines came in 1 buckets for a shard matched in 4 regions',
    );
  });
});
