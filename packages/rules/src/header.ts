import { COLUMNS, FileRejectedError } from '@recon/contracts';
import { trimField } from './text.ts';

/**
 * RULES §2: the header holds exactly the six column names, in any order, case-insensitive,
 * trimmed (a UTF-8 BOM is ignored). Returns, for each canonical column, its position in the file.
 */
export function parseHeader(fields: readonly string[], fileLabel: string): number[] {
  const names = fields.map((f, k) => {
    const trimmed = trimField(k === 0 ? f.replace(/^\uFEFF/, '') : f).toLowerCase();
    return trimmed;
  });
  const expected: readonly string[] = COLUMNS;
  const missing = COLUMNS.filter((c) => !names.includes(c));
  const unknown = names.filter((nm) => !expected.includes(nm));
  const repeated = names.filter((nm, k) => names.indexOf(nm) !== k);
  if (missing.length > 0 || unknown.length > 0 || repeated.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing column(s): ${missing.join(', ')}`);
    if (unknown.length > 0)
      parts.push(`unknown column(s): ${unknown.map((u) => JSON.stringify(u)).join(', ')}`);
    if (repeated.length > 0) parts.push(`repeated column(s): ${repeated.join(', ')}`);
    throw new FileRejectedError(
      'INVALID_HEADER',
      `${fileLabel}, line 1: invalid header — ${parts.join('; ')}. Expected exactly the columns ${COLUMNS.join(';')} (any order, case-insensitive, separated by ";").`,
    );
  }
  return COLUMNS.map((c) => names.indexOf(c));
}
