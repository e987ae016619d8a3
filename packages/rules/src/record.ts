import type { NormalizedRecord, RejectReason } from '@recon/contracts';
import { parseData } from './data.ts';
import { normalizeText } from './text.ts';
import { parseValor } from './valor.ts';

export type RecordResult =
  | { ok: true; record: NormalizedRecord }
  | { ok: false; motivo: RejectReason; mensagem: string };

/**
 * Validates and normalizes one record's raw fields (RULES §2–§3), given the position of each
 * canonical column in the file (`columnOrder`, from the header). Messages are pt-BR: they are
 * read by the business in `rejeitados.csv`.
 */
export function normalizeRecord(fields: readonly string[], columnOrder: readonly number[]): RecordResult {
  if (fields.length !== 6) {
    return {
      ok: false,
      motivo: 'FIELD_COUNT',
      mensagem: `esperados 6 campos separados por ";", encontrados ${fields.length}`,
    };
  }
  const ordem_id = normalizeText(fields[columnOrder[1]!]!);
  if (ordem_id === '') return { ok: false, motivo: 'MISSING_ORDEM_ID', mensagem: 'coluna ordem_id vazia' };
  const rawData = normalizeText(fields[columnOrder[4]!]!);
  const data = parseData(rawData);
  if (!data.ok) {
    return {
      ok: false,
      motivo: 'INVALID_DATE',
      mensagem: `coluna data: "${rawData}" inválida — ${data.reason}`,
    };
  }
  const rawValor = normalizeText(fields[columnOrder[5]!]!);
  const valor = parseValor(rawValor);
  if (!valor.ok) {
    return {
      ok: false,
      motivo: 'INVALID_VALOR',
      mensagem: `coluna valor: "${rawValor}" inválido — ${valor.reason} (esperado p.ex. 1234.56, 1.234,56 ou -10,5)`,
    };
  }
  return {
    ok: true,
    record: {
      fornecedor_id: normalizeText(fields[columnOrder[0]!]!),
      ordem_id,
      nome: normalizeText(fields[columnOrder[2]!]!),
      ativo_id: normalizeText(fields[columnOrder[3]!]!),
      data: data.value,
      valor: valor.value,
    },
  };
}
