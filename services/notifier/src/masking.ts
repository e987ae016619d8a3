import { maskNome } from '@recon/rules';
import type { Notification } from './messages.ts';

/**
 * RULES §7: no notification carries a full `nome`. The templates never put a `nome` in a message;
 * this is the second line of defence for free text that comes from elsewhere (an error message
 * quoting a record, an alert text): every `nome` it can recognise is masked as `***Silva`.
 *
 * Recognised: JSON members (`"nome":"Maria da Silva"`, also `nome_csv`, `nome_base`), key/value
 * text (`nome=Maria da Silva`, `nome: 'Maria da Silva'`) and records quoted whole — a line of six or
 * more fields separated by `;` (the vendor file) or by tabs (PostgreSQL COPY text), whose third
 * field is the `nome` (RULES §2 column order).
 */
export function maskNomesInText(text: string): string {
  if (text === '') return text;
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

const KEY = 'nome(?:_[a-z]+)?';
const JSON_MEMBER = new RegExp(String.raw`("${KEY}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
const KEY_QUOTED = new RegExp(String.raw`\b(${KEY}\s*[=:]\s*)(['"])(.*?)\2`, 'gi');
const KEY_BARE = new RegExp(String.raw`\b(${KEY}\s*[=:]\s*)(?!['"*\s])([^,;|\n\r)}\]]+)`, 'gi');

/** Masks unless already masked (so the function can run twice over the same text). */
function maskOnce(value: string): string {
  if (value.startsWith('***') || value.trim() === '') return value;
  return maskNome(value);
}

function maskRecordLine(line: string, separator: string): string {
  const fields = line.split(separator);
  if (fields.length < 6) return line;
  const nome = fields[2]!;
  if (nome.trim() === '' || /^"?nome"?$/i.test(nome.trim())) return line;
  const quoted = nome.length >= 2 && nome.startsWith('"') && nome.endsWith('"');
  fields[2] = quoted ? `"${maskOnce(nome.slice(1, -1))}"` : maskOnce(nome);
  return fields.join(separator);
}

/** Every text of a notification through `maskNomesInText` (links' URLs too). */
export function maskNotification(n: Notification): Notification {
  const m = maskNomesInText;
  return {
    ...n,
    title: m(n.title),
    text: m(n.text),
    fields: n.fields.map((f) => ({ label: m(f.label), value: m(f.value) })),
    sections: n.sections.map((s) => ({ heading: m(s.heading), lines: s.lines.map(m) })),
    links: n.links.map((l) => ({ label: m(l.label), url: m(l.url) })),
  };
}
