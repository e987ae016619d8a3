import { DIVERGENCE_ITEM_COLUMNS, type DivergenceItem } from '@recon/contracts';

/**
 * A CSV cell (`;`-separated, RFC 4180 quoting) that a spreadsheet will not run as a formula:
 * a text starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` (OWASP's
 * CSV injection advice). Exact numbers of the money columns are left as they are: a negative
 * amount (`-7.24`) is a number, not a formula.
 */
export function csvCell(value: string | number | null, numeric = false): string {
  if (value === null) return '';
  let text = String(value);
  if (!(numeric && /^-?\d+(\.\d+)?$/.test(text)) && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[;"\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const NUMERIC = new Set<string>(['valor_csv', 'valor_base', 'diferenca', 'linha_arquivo']);

export const CSV_HEADER = `${DIVERGENCE_ITEM_COLUMNS.join(';')}\r\n`;

export function csvRow(item: DivergenceItem): string {
  return `${DIVERGENCE_ITEM_COLUMNS.map((c) => csvCell(item[c], NUMERIC.has(c))).join(';')}\r\n`;
}
