import { maskNome } from '@recon/rules';

/**
 * RULES §7 / technical document §10.4.3: logs never carry a full `nome` (`***Silva`).
 *
 * `maskDeep` masks every member whose key names a `nome` (`nome`, `nome_csv`, `nome_base`, …) at
 * any depth — objects, arrays, errors and their causes — and runs every other string through
 * `maskNomesInText`, which catches a `nome` quoted inside free text (an error message citing a
 * record, a JSON fragment, `nome=…`).
 *
 * NOTE: `maskNomesInText` is also in services/notifier/src/masking.ts (the two packages may not
 * depend on each other); its one home should be @recon/rules next to `maskNome`.
 */
export function maskNomesInText(text: string): string {
  if (text === '' || !(MAY_HOLD_NOME.test(text) || text.includes(';') || text.includes('\t'))) return text;
  let out = text.replace(JSON_MEMBER, (_m, head: string, value: string, tail: string) => {
    return `${head}${maskOnce(value)}${tail}`;
  });
  out = out.replace(KEY_QUOTED, (_m, head: string, quote: string, value: string) => {
    return `${head}${quote}${maskOnce(value)}${quote}`;
  });
  out = out.replace(KEY_BARE, (_m, head: string, value: string) => {
    const trimmed = value.trimEnd();
    return `${head}${maskOnce(trimmed)}${value.slice(trimmed.length)}`;
  });
  if (out.includes(';') || out.includes('\t')) {
    out = out
      .split('\n')
      .map((line) => maskRecordLine(line, ';'))
      .map((line) => maskRecordLine(line, '\t'))
      .join('\n');
  }
  return out;
}

const MAY_HOLD_NOME = /nome/i;
const KEY = 'nome(?:_[a-z]+)?';
const JSON_MEMBER = new RegExp(String.raw`("${KEY}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
const KEY_QUOTED = new RegExp(String.raw`\b(${KEY}\s*[=:]\s*)(['"])(.*?)\2`, 'gi');
const KEY_BARE = new RegExp(String.raw`\b(${KEY}\s*[=:]\s*)(?!['"*\s])([^,;|\n\r)}\]]+)`, 'gi');

function maskOnce(value: string): string {
  if (value.startsWith('***') || value.trim() === '') return value;
  return maskNome(value);
}

/** A record quoted whole: six or more fields, the third is the `nome` (RULES §2 column order). */
function maskRecordLine(line: string, separator: string): string {
  const fields = line.split(separator);
  if (fields.length < 6) return line;
  const nome = fields[2]!;
  if (nome.trim() === '' || /^"?nome"?$/i.test(nome.trim())) return line;
  const quoted = nome.length >= 2 && nome.startsWith('"') && nome.endsWith('"');
  fields[2] = quoted ? `"${maskOnce(nome.slice(1, -1))}"` : maskOnce(nome);
  return fields.join(separator);
}

/** Keys that hold a `nome`: `nome`, `nome_csv`, `nome_base`, `base_nome`… */
const NOME_KEY = /(^|_)nome($|_)/i;

/** A copy of `value` with every `nome` masked; errors become plain `{ type, message, stack, … }`. */
export function maskDeep(value: unknown): unknown {
  return mask(value, new WeakSet(), 0);
}

function mask(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return maskNomesInText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > 12) return '[Too deep]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => mask(v, seen, depth + 1));
    if (value instanceof Error) {
      const out: Record<string, unknown> = { type: value.name, message: maskNomesInText(value.message) };
      if (value.stack !== undefined) out.stack = maskNomesInText(value.stack);
      for (const [k, v] of Object.entries(value)) out[k] = maskMember(k, v, seen, depth);
      if (value.cause !== undefined) out.cause = mask(value.cause, seen, depth + 1);
      return out;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskMember(k, v, seen, depth);
    return out;
  } finally {
    seen.delete(value);
  }
}

function maskMember(key: string, value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (NOME_KEY.test(key) && typeof value === 'string') return maskOnce(value);
  return mask(value, seen, depth + 1);
}
