/** RULES §2/§3: leading/trailing spaces and tabs are trimmed (and only those). */
export function trimField(value: string): string {
  const n = value.length;
  if (n === 0) return value;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first !== 32 && first !== 9 && last !== 32 && last !== 9) return value;
  let start = 0;
  let end = n;
  while (start < end && isBlankChar(value.charCodeAt(start))) start++;
  while (end > start && isBlankChar(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function isBlankChar(code: number): boolean {
  return code === 32 || code === 9;
}

/** Trimmed and Unicode NFC-normalized (ASCII text is always NFC, so it skips the work). */
export function normalizeText(value: string): string {
  const trimmed = trimField(value);
  for (let k = 0; k < trimmed.length; k++) {
    if (trimmed.charCodeAt(k) > 0x7f) return trimmed.normalize('NFC');
  }
  return trimmed;
}

/** RULES §7: logs never carry a full `nome`; all but the last word is masked (`***Silva`). */
export function maskNome(nome: string): string {
  const words = nome.trim().split(/\s+/);
  const last = words[words.length - 1] ?? '';
  return last === '' ? '***' : `***${last}`;
}
