/** The six columns of both sides (RULES §1), in the canonical order. */
export const COLUMNS = ['fornecedor_id', 'ordem_id', 'nome', 'ativo_id', 'data', 'valor'] as const;
export type Column = (typeof COLUMNS)[number];

/**
 * A transaction after RULES §3 normalization: text trimmed and NFC, `data` as "YYYY-MM-DD",
 * `valor` as a canonical decimal string with exactly two places ("1234.50", "-0.10").
 */
export interface NormalizedRecord {
  fornecedor_id: string;
  ordem_id: string;
  nome: string;
  ativo_id: string;
  data: string;
  valor: string;
}

/** A vendor record with the physical line of the file where it starts. */
export interface VendorRecord extends NormalizedRecord {
  linha: number;
}

/** Reason codes of RULES §2 for a rejected line. */
export const REJECT_REASONS = [
  'FIELD_COUNT',
  'MISSING_ORDEM_ID',
  'INVALID_DATE',
  'INVALID_VALOR',
  'DUPLICATE_ORDEM_ID',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A rejected line, as written to `rejeitados.csv` (`linha;motivo;mensagem;conteudo`). */
export interface RejectedLine {
  linha: number;
  motivo: RejectReason;
  mensagem: string;
  conteudo: string;
}
