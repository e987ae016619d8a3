import {
  type Campo,
  compareDivergences,
  type DateWindow,
  type DivergenceRow,
  decodeShardLine,
  type RejectedLine,
  type Scope,
  SEVERIDADES,
  type Severidade,
  type ShardCounts,
  type ShardRecord,
  TIPOS,
  type TipoDivergencia,
} from '@recon/contracts';
import { hashLinha, subtractValor } from '@recon/rules';
import { type SeverityPolicy, valorSeverity } from './severity.ts';

export interface ShardInput {
  jobId: string;
  /** The shard's vendor slices, encoded (`@recon/contracts` shard format), in file order. */
  vendor: readonly string[];
  /** The shard's base slices, encoded. */
  base: readonly string[];
  /**
   * The slices are the parts' UTF-8 bytes decoded as latin1 (one char per byte: a cheap copy,
   * and equal bytes ⇔ equal text); rows are converted back to real strings. Default false.
   */
  binary?: boolean;
  scope: Scope;
  window: DateWindow | null;
  /** When the divergences are produced (epoch ms). */
  timestamp: number;
  severity: SeverityPolicy;
}

/** A duplicate line; its raw text is filled in by the reporter from the vendor chunk. */
export type DuplicateLine = Omit<RejectedLine, 'conteudo'> & { conteudo: string | null };

export interface ShardOutput {
  divergences: DivergenceRow[];
  vendorDuplicates: DuplicateLine[];
  baseDuplicates: RejectedLine[];
  counts: ShardCounts;
}

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

/**
 * Classifies one shard (RULES §4–§5). Pure: plain data in, plain data out.
 * Records stay encoded: an order whose two lines agree from `fornecedor_id` on is equal in every
 * field, so only divergent orders are decoded — most of a day is one key lookup and a
 * character comparison. One map serves both sides: a base line's start (≥ 0) until a vendor
 * line claims the order, then -(vendor linha + 1), which also flags later vendor duplicates.
 */
export function classifyShard(input: ShardInput): ShardOutput {
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

export function emptyCounts(): ShardCounts {
  return {
    vendorValid: 0,
    vendorDuplicates: 0,
    baseInScope: 0,
    baseDuplicates: 0,
    matched: 0,
    divergentOrders: 0,
    distinctOrders: 0,
    rows: 0,
    byType: Object.fromEntries(TIPOS.map((t) => [t, 0])) as Record<TipoDivergencia, number>,
    bySeverity: Object.fromEntries(SEVERIDADES.map((s) => [s, 0])) as Record<Severidade, number>,
    bySupplier: {},
  };
}
