/**
 * Reads a matcher's shard result (`work/<job>/results/shard-NNNN.json`) into DivergenceColumns.
 *
 * Version 2 (services/matcher/src/handlers/shard-ready.ts, `encodeShardResult`; keep in step):
 *   u32 LE magic 0x32525352 ("RSR2") · u32 LE header length · header JSON (UTF-8) · sections
 * The header holds `version: 2`, `rows`, `vendorDuplicates`, `baseDuplicates`, `counts` and
 * `sections: { name, offset, length }[]` (byte offsets from the file start, 8-aligned): for each
 * text column `<col>.offsets` (Int32, rows + 1), `<col>.bytes` (UTF-8), `<col>.nulls` (Uint8, 1 =
 * null); `linha_arquivo` (Float64), `linha_arquivo.nulls`; `timestamp` (Float64).
 * Version 1 (before): `JSON.stringify` of the shard output, `divergences: DivergenceRow[]`; still read.
 */
import { type DivergenceRow, ReconError, type RejectedLine } from '@recon/contracts';
import { type DivergenceColumns, TEXT_COLUMNS, type TextColumnData, type TextColumnName } from './parquet.ts';

export const SHARD_RESULT_MAGIC = 0x32525352;

export interface ShardResult {
  divergences: DivergenceColumns;
  vendorDuplicates: (Omit<RejectedLine, 'conteudo'> & { conteudo: string | null })[];
  baseDuplicates: RejectedLine[];
}

interface Header {
  version: number;
  rows: number;
  vendorDuplicates: ShardResult['vendorDuplicates'];
  baseDuplicates: RejectedLine[];
  sections: { name: string; offset: number; length: number }[];
}

export function decodeShardResult(body: Uint8Array, key: string): ShardResult {
  if (body.byteLength >= 8 && readU32(body, 0) === SHARD_RESULT_MAGIC) return decodeV2(body, key);
  const v1 = JSON.parse(Buffer.from(body).toString('utf8')) as {
    divergences: DivergenceRow[];
    vendorDuplicates: ShardResult['vendorDuplicates'];
    baseDuplicates: RejectedLine[];
  };
  return {
    divergences: rowsToColumns(v1.divergences),
    vendorDuplicates: v1.vendorDuplicates,
    baseDuplicates: v1.baseDuplicates,
  };
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function decodeV2(input: Uint8Array, key: string): ShardResult {
  // Typed views need aligned offsets: copy when the body does not start 8-aligned.
  const body = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
  const headerLength = readU32(body, 4);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Header;
  if (header.version !== 2) {
    throw new ReconError('INTERNAL', `shard result ${key}: unknown version ${String(header.version)}`);
  }
  const n = header.rows;
  const sections = new Map(header.sections.map((s) => [s.name, s]));
  const section = (name: string) => {
    const s = sections.get(name);
    if (s === undefined || s.offset + s.length > body.byteLength) {
      throw new ReconError('INTERNAL', `shard result ${key}: section ${name} missing or truncated`);
    }
    return s;
  };
  const bytes = (name: string) => {
    const s = section(name);
    return buf.subarray(s.offset, s.offset + s.length);
  };
  const float64 = (name: string) => {
    const s = section(name);
    return new Float64Array(body.buffer, body.byteOffset + s.offset, n);
  };
  const text = {} as Record<TextColumnName, TextColumnData>;
  for (const column of TEXT_COLUMNS) {
    const o = section(`${column}.offsets`);
    text[column] = {
      offsets: new Int32Array(body.buffer, body.byteOffset + o.offset, n + 1),
      bytes: bytes(`${column}.bytes`),
      nulls: bytes(`${column}.nulls`),
    };
  }
  return {
    divergences: {
      rows: n,
      text,
      linhaArquivo: float64('linha_arquivo'),
      linhaArquivoNulls: bytes('linha_arquivo.nulls'),
      timestamp: float64('timestamp'),
    },
    vendorDuplicates: header.vendorDuplicates,
    baseDuplicates: header.baseDuplicates,
  };
}

/** Rows (version 1) as DivergenceColumns, as the matcher's encodeShardResult lays them out. */
export function rowsToColumns(rows: readonly DivergenceRow[]): DivergenceColumns {
  const n = rows.length;
  const text = {} as Record<TextColumnName, TextColumnData>;
  for (const column of TEXT_COLUMNS) {
    let units = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![column];
      if (typeof v === 'string') units += v.length;
    }
    const bytes = Buffer.allocUnsafe(units * 3);
    const offsets = new Int32Array(n + 1);
    const nulls = new Uint8Array(n);
    let end = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![column] as unknown;
      if (typeof v === 'string') end += bytes.write(v, end, 'utf8');
      else if (v === null) nulls[i] = 1;
      else throw new ReconError('INTERNAL', `divergence ${i}: ${column} is neither a string nor null`);
      offsets[i + 1] = end;
    }
    text[column] = { offsets, bytes: bytes.subarray(0, end), nulls };
  }
  const linhaArquivo = new Float64Array(n);
  const linhaArquivoNulls = new Uint8Array(n);
  const timestamp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.linha_arquivo === null) linhaArquivoNulls[i] = 1;
    else linhaArquivo[i] = r.linha_arquivo;
    timestamp[i] = r.timestamp;
  }
  return { rows: n, text, linhaArquivo, linhaArquivoNulls, timestamp };
}
