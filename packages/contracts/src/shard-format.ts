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

function unescapeField(value: string): string {
  if (value.indexOf('\\') === -1) return value;
  return value.replace(/\\(.)/g, (_m, c: string) =>
    c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c,
  );
}

export function encodeShardRecord(linha: number, r: NormalizedRecord): string {
  return `${linha}\t${escapeField(r.ordem_id)}\t${escapeField(r.fornecedor_id)}\t${escapeField(r.nome)}\t${escapeField(r.ativo_id)}\t${r.data}\t${r.valor}\n`;
}

/** Decodes the lines of a part (or a concatenation of parts), calling `onRecord` for each. */
export function decodeShardRecords(text: string, onRecord: (r: ShardRecord) => void): void {
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = n;
    if (end > pos) {
      const f = text.slice(pos, end).split('\t');
      onRecord({
        linha: Number(f[0]),
        ordem_id: unescapeField(f[1]!),
        fornecedor_id: unescapeField(f[2]!),
        nome: unescapeField(f[3]!),
        ativo_id: unescapeField(f[4]!),
        data: f[5]!,
        valor: f[6]!,
      });
    }
    pos = end + 1;
  }
}
