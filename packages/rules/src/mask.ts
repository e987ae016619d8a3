import { maskNome } from './text.ts';

/**
 * RULES §7: no log line or notification carries a full `nome`. `maskNomesInText` masks, as
 * `***Silva`, every `nome` it can recognise inside free text (an error message quoting a record,
 * a JSON fragment, an alert text): JSON members (`"nome":"Maria da Silva"`, also `nome_csv`,
 * `nome_base`), key/value text (`nome=Maria da Silva`, `nome: 'Maria da Silva'`) and records quoted
 * whole — a line of six or more fields separated by `;` (the vendor file) or by tabs (PostgreSQL
 * COPY text), whose third field is the `nome` (RULES §2 column order).
 */
export function maskNomesInText(text: string): string {
  if (text === '' || !(MAY_HOLD_NOME.test(text) || text.includes(';') || text.includes('\t'))) return text;
  let out = text.replace(JSON_MEMBER, (_m, head: string, value: string, tail: string) => {
    return `${head}${maskNomeOnce(value)}${tail}`;
  });
  out = out.replace(KEY_QUOTED, (_m, head: string, quote: string, value: string) => {
    return `${head}${quote}${maskNomeOnce(value)}${quote}`;
  });
  out = out.replace(KEY_BARE, (_m, head: string, value: string) => {
    const trimmed = value.trimEnd();
    return `${head}${maskNomeOnce(trimmed)}${value.slice(trimmed.length)}`;
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

export function maskNomeOnce(value: string): string {
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
  fields[2] = quoted ? `"${maskNomeOnce(nome.slice(1, -1))}"` : maskNomeOnce(nome);
  return fields.join(separator);
}

/** Keys that hold a `nome`: `nome`, `nome_csv`, `nome_base`, `base_nome`… */
