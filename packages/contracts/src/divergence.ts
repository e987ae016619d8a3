/** Divergence types of RULES §4, in the order used for sorting and reporting. */
export const TIPOS = [
  'TIPO_1',
  'TIPO_2',
  'TIPO_3_VALOR',
  'TIPO_3_DATA',
  'TIPO_3_NOME',
  'TIPO_3_ATIVO',
  'TIPO_3_FORNECEDOR',
] as const;
export type TipoDivergencia = (typeof TIPOS)[number];

export const SEVERIDADES = ['HIGH', 'MEDIUM', 'LOW'] as const;
export type Severidade = (typeof SEVERIDADES)[number];

/** The field a TIPO_3_* divergence is about (`campo` column). */
export type Campo = 'valor' | 'data' | 'nome' | 'ativo_id' | 'fornecedor_id';

/**
 * One divergence row, exactly the columns of RULES §6.
 * Money is a canonical decimal string with two places ("-1234.50"), never a number.
 * Dates are ISO strings "YYYY-MM-DD". `timestamp` is epoch milliseconds (UTC).
 */
export interface DivergenceRow {
  job_id: string;
  tipo_divergencia: TipoDivergencia;
  severidade: Severidade;
  ordem_id: string;
  fornecedor_id: string;
  nome: string;
  ativo_id: string;
  data: string;
  data_base: string | null;
  valor_csv: string | null;
  valor_base: string | null;
  diferenca: string | null;
  campo: Campo | null;
  detalhes: string;
  hash_linha: string;
  linha_arquivo: number | null;
  timestamp: number;
}

/** Sort order of RULES §6: (tipo_divergencia, ordem_id), by UTF-16 code units. */
export function compareDivergences(
  a: Pick<DivergenceRow, 'tipo_divergencia' | 'ordem_id'>,
  b: Pick<DivergenceRow, 'tipo_divergencia' | 'ordem_id'>,
): number {
  if (a.tipo_divergencia !== b.tipo_divergencia) return a.tipo_divergencia < b.tipo_divergencia ? -1 : 1;
  if (a.ordem_id === b.ordem_id) return 0;
  return a.ordem_id < b.ordem_id ? -1 : 1;
}

/** A count per divergence type, all zero. */
export function zeroPerTipo(): Record<TipoDivergencia, number> {
  return Object.fromEntries(TIPOS.map((t) => [t, 0])) as Record<TipoDivergencia, number>;
}

/** A count per severity, all zero. */
export function zeroPerSeveridade(): Record<Severidade, number> {
  return Object.fromEntries(SEVERIDADES.map((s) => [s, 0])) as Record<Severidade, number>;
}
