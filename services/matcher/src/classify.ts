import {
  type Campo,
  compareDivergences,
  type DateWindow,
  type DivergenceRow,
  decodeShardLine,
  forEachShardLine,
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

/**
 * Classifies one shard (RULES §4–§5). Pure: plain data in, plain data out.
 * Records stay encoded: an order whose two lines agree from `fornecedor_id` on is equal in every
 * field, so only divergent orders are decoded — most of a day is a single string comparison.
 */
export function classifyShard(input: ShardInput): ShardOutput {
  const { jobId, timestamp, severity } = input;
  const counts = emptyCounts();
  const divergences: DivergenceRow[] = [];
  const baseDuplicates: RejectedLine[] = [];
  const vendorDuplicates: DuplicateLine[] = [];
  const push = (row: Omit<DivergenceRow, 'job_id' | 'timestamp'>) => {
    divergences.push({ job_id: jobId, ...row, timestamp });
  };

  const base = new Map<string, string>();
  for (const text of input.base) {
    forEachShardLine(text, (line, key) => {
      const first = base.get(key);
      if (first === undefined) {
        base.set(key, line);
        return;
      }
      const b = decodeShardLine(line);
      const firstLinha = decodeShardLine(first).linha;
      counts.baseDuplicates++;
      baseDuplicates.push({
        linha: b.linha,
        motivo: 'DUPLICATE_ORDEM_ID',
        mensagem: `ordem_id ${b.ordem_id} repetido na base${firstLinha > 0 ? ` (primeira ocorrência na linha ${firstLinha})` : ''}; conteúdo normalizado`,
        conteudo: `${b.fornecedor_id};${b.ordem_id};${b.nome};${b.ativo_id};${b.data};${b.valor}`,
      });
    });
  }

  const firstLine = new Map<string, number>();
  for (const text of input.vendor) {
    forEachShardLine(text, (line, key, restStart, linha) => {
      const seenAt = firstLine.get(key);
      if (seenAt !== undefined) {
        counts.vendorDuplicates++;
        vendorDuplicates.push({
          linha,
          motivo: 'DUPLICATE_ORDEM_ID',
          mensagem: `ordem_id ${decodeShardLine(line).ordem_id} repetido (primeira ocorrência na linha ${seenAt}, que foi conciliada)`,
          conteudo: null,
        });
        return;
      }
      firstLine.set(key, linha);
      counts.vendorValid++;
      const baseLine = base.get(key);
      if (baseLine === undefined) {
        const v = decodeShardLine(line);
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
        return;
      }
      base.delete(key);
      counts.matched++;
      counts.baseInScope++;
      const baseRest = baseLine.indexOf('\t', baseLine.indexOf('\t') + 1) + 1;
      if (line.length - restStart === baseLine.length - baseRest && line.endsWith(baseLine.slice(baseRest)))
        return;
      if (fieldDivergences(decodeShardLine(line), decodeShardLine(baseLine), severity, push))
        counts.divergentOrders++;
    });
  }

  // Base rows no vendor record matched: TIPO_2 when in scope (RULES §5).
  const window = input.window;
  for (const line of base.values()) {
    const b = decodeShardLine(line);
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
