import type { RejectedLine } from '@recon/contracts';

/** RFC 4180 quoting for a `;` file: quote when the value holds `;`, a quote, a line break or edge blanks. */
export function csvField(value: string): string {
  if (/[;"\r\n]/.test(value) || /^[ \t]|[ \t]$/.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** `rejeitados.csv`: `linha;motivo;mensagem;conteudo`, one row per rejected line, by line number. */
export function rejectsCsv(rows: readonly RejectedLine[]): string {
  const out = ['linha;motivo;mensagem;conteudo\n'];
  for (const r of rows) out.push(`${r.linha};${r.motivo};${csvField(r.mensagem)};${csvField(r.conteudo)}\n`);
  return out.join('');
}
