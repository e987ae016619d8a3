import type { NormalizedRecord } from './records.ts';

/**
 * The wire format of shard parts (partition → matcher): one record per line,
 * `linha \t ordem_id \t fornecedor_id \t nome \t ativo_id \t data \t valor \n`, with backslash,
 * tab, LF and CR escaped in text fields (`\\`, `\t`, `\n`, `\r`). `linha` is the physical line in
 * the source file (0 when the base comes from PostgreSQL). Plain text keeps parts debuggable and
 * lets V8's native `split` do the parsing.
 */
export interface ShardRecord extends NormalizedRecord {
  linha: number;
}

const NEEDS_ESCAPE = /[\t\n\r\\]/;

function escapeField(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\t\n\r\\]/g, (c) =>
    c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\\\',
  );
}

/** The text an encoded field holds (its escapes undone). */
export function unescapeShardField(value: string): string {
  if (value.indexOf('\\') === -1) return value;
  return value.replace(/\\(.)/g, (_m, c: string) =>
    c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c,
  );
}

/** One record's line. `plain`: the caller knows no text field needs escaping (skips the checks). */
export function encodeShardRecord(linha: number, r: NormalizedRecord, plain = false): string {
  if (plain)
    return `${linha}\t${r.ordem_id}\t${r.fornecedor_id}\t${r.nome}\t${r.ativo_id}\t${r.data}\t${r.valor}\n`;
  return `${linha}\t${escapeField(r.ordem_id)}\t${escapeField(r.fornecedor_id)}\t${escapeField(r.nome)}\t${escapeField(r.ativo_id)}\t${r.data}\t${r.valor}\n`;
}

/** Decodes one line (without its `\n`). */
export function decodeShardLine(line: string): ShardRecord {
  const f = line.split('\t');
  return {
    linha: Number(f[0]),
    ordem_id: unescapeShardField(f[1]!),
    fornecedor_id: unescapeShardField(f[2]!),
    nome: unescapeShardField(f[3]!),
    ativo_id: unescapeShardField(f[4]!),
    data: f[5]!,
    valor: f[6]!,
  };
}

/**
 * Walks the lines of a part (or of concatenated parts) without decoding them: `key` is the
 * encoded `ordem_id` (equal keys ⇔ equal orders), `rest` starts at `fornecedor_id`, so two
 * records are equal in every compared field exactly when their rests are equal strings.
 */
export function forEachShardLine(
  text: string,
  onLine: (line: string, key: string, restStart: number, linha: number) => void,
): void {
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = n;
    if (end > pos) {
      const t1 = text.indexOf('\t', pos);
      const t2 = text.indexOf('\t', t1 + 1);
      let linha = 0;
      for (let k = pos; k < t1; k++) linha = linha * 10 + (text.charCodeAt(k) - 48);
      onLine(text.slice(pos, end), text.slice(t1 + 1, t2), t2 + 1 - pos, linha);
    }
    pos = end + 1;
  }
}

/** Decodes the lines of a part (or a concatenation of parts), calling `onRecord` for each. */
export function decodeShardRecords(text: string, onRecord: (r: ShardRecord) => void): void {
  forEachShardLine(text, (line) => onRecord(decodeShardLine(line)));
}
