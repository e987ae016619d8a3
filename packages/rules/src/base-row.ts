import type { RejectedLine } from '@recon/contracts';
import { FastRecordEncoder } from './fast-record.ts';
import { normalizeRecord } from './record.ts';
import type { ShardWriter } from './shard-writer.ts';

/** The canonical column order (fornecedor_id, ordem_id, nome, ativo_id, data, valor): a database row's (`RawBaseRow`). */
export const CANONICAL_ORDER: readonly number[] = [0, 1, 2, 3, 4, 5];

/** An encoder of database rows (`addBaseRow`), which come in the canonical column order. */
export function baseRowEncoder(): FastRecordEncoder {
  return new FastRecordEncoder(CANONICAL_ORDER);
}

/**
 * One database row into `writer`, or into `rejects` (returns false). Rows already canonical
 * (numeric::text, ISO dates, plain text: nearly all) are encoded straight into the writer's
 * buffers by `encoder` (made with the canonical column order); the rest take `normalizeRecord`,
 * which alone decides rejects and their messages.
 */
export function addBaseRow(
  row: readonly (string | null)[],
  encoder: FastRecordEncoder,
  writer: ShardWriter,
  rejects: RejectedLine[],
): boolean {
  if (encoder.encodeFields(row, 0, writer)) return true;
  const fields = row.map((v) => v ?? '');
  const result = normalizeRecord(fields, CANONICAL_ORDER);
  if (result.ok) {
    writer.add(0, result.record);
    return true;
  }
  const nulls = row.flatMap((v, k) => (v === null ? [k] : []));
  const mensagem =
    nulls.length > 0
      ? `${result.mensagem} (coluna(s) nula(s) na base: ${nulls.join(', ')})`
      : result.mensagem;
  rejects.push({ linha: 0, motivo: result.motivo, mensagem, conteudo: fields.join(';') });
  return false;
}
