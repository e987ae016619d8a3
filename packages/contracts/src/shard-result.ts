import type { DivergenceRow } from './divergence.ts';
import { ReconError } from './errors.ts';
import type { RejectedLine } from './records.ts';
import type { ShardCounts } from './units.ts';
import { writeUtf8 } from './utf8.ts';

// ---------------------------------------------------------------------------------------------
// Shard result format, version 2: matcher -> reporter (claim check: `keys.shardResult`).
//
// Version 1 was `JSON.stringify(output)`; parsing ~100k divergence objects cost the reporter most
// of its time. Version 2 stores the divergences column by column, so the reporter copies bytes
// straight into the Arrow buffers of the Parquet output:
//
//   u32 LE magic 0x32525352 ("RSR2") · u32 LE header length · header JSON (UTF-8) · sections
//
// The header holds `version: 2`, `rows`, `vendorDuplicates`, `baseDuplicates`, `counts` and
// `sections: { name, offset, length }[]` (byte offsets from the file start, 8-aligned). Sections:
// for each of SHARD_TEXT_COLUMNS `<col>.offsets` (Int32, rows + 1), `<col>.bytes` (UTF-8) and
// `<col>.nulls` (Uint8, 1 = null); `linha_arquivo` (Float64) with `linha_arquivo.nulls`;
// `timestamp` (Float64). The values are written as they are: the reporter validates them.

export const SHARD_RESULT_MAGIC = 0x32525352;

/** The DivergenceRow fields held as text, in section order. */
export const SHARD_TEXT_COLUMNS = [
  'job_id',
  'tipo_divergencia',
  'severidade',
  'ordem_id',
  'fornecedor_id',
  'nome',
  'ativo_id',
  'data',
  'data_base',
  'valor_csv',
  'valor_base',
  'diferenca',
  'campo',
  'detalhes',
  'hash_linha',
] as const satisfies readonly (keyof DivergenceRow)[];

/**
 * Divergence rows laid out column by column (the layout of a version 2 shard result). One pass
 * over the rows, each field read by name: reading `row[column]` with the column in a variable was
 * a generic keyed load per value, and with a first pass to size the buffers, took most of the
 * matcher's time spent on its output.
 */
export function divergenceRowsToColumns(rows: readonly DivergenceRow[]): DivergenceColumns {
  const n = rows.length;
  const b = textColumnBuilders((column) => new TextColumnBuilder(column, n));
  const linhaArquivo = new Float64Array(n);
  const linhaArquivoNulls = new Uint8Array(n);
  const timestamp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (const column of SHARD_TEXT_COLUMNS) b[column].add(i, r[column]);
    if (r.linha_arquivo === null) linhaArquivoNulls[i] = 1;
    else linhaArquivo[i] = r.linha_arquivo;
    timestamp[i] = r.timestamp;
  }
  const text = finishTextColumns(b);
  return { rows: n, text, linhaArquivo, linhaArquivoNulls, timestamp };
}

/** The rows of divergence columns, read back as values (tests, tools). */
export function divergenceColumnsToRows(c: DivergenceColumns): DivergenceRow[] {
  return Array.from(
    { length: c.rows },
    (_, i) =>
      ({
        ...Object.fromEntries(
          SHARD_TEXT_COLUMNS.map((column) => {
            const t = c.text[column];
            return [
              column,
              t.nulls[i] === 1 ? null : t.bytes.toString('utf8', t.offsets[i], t.offsets[i + 1]),
            ];
          }),
        ),
        linha_arquivo: c.linhaArquivoNulls[i] === 1 ? null : c.linhaArquivo[i]!,
        timestamp: c.timestamp[i]!,
      }) as DivergenceRow,
  );
}

/** A builder for each text column, made by `make` (filled by name: `builders.nome`). */
export function textColumnBuilders<B>(make: (column: TextColumnName) => B): Record<TextColumnName, B> {
  return Object.fromEntries(SHARD_TEXT_COLUMNS.map((column) => [column, make(column)])) as Record<
    TextColumnName,
    B
  >;
}

/** Each builder's column, finished. */
export function finishTextColumns(
  builders: Record<TextColumnName, { finish(): TextColumnData }>,
): Record<TextColumnName, TextColumnData> {
  return Object.fromEntries(
    SHARD_TEXT_COLUMNS.map((column) => [column, builders[column].finish()]),
  ) as Record<TextColumnName, TextColumnData>;
}

/** One text column of n rows, filled row by row; its byte buffer doubles as it fills. */
class TextColumnBuilder {
  private bytes: Buffer;
  private end = 0;
  private readonly offsets: Int32Array;
  private readonly nulls: Uint8Array;

  constructor(
    private readonly column: TextColumnName,
    n: number,
  ) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, n * 16));
    this.offsets = new Int32Array(n + 1);
    this.nulls = new Uint8Array(n);
  }

  add(i: number, v: string | null): void {
    if (typeof v === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (this.end + v.length * 3 > this.bytes.length) this.grow(v.length * 3);
      this.end = writeUtf8(this.bytes, this.end, v);
    } else if (v === null) {
      this.nulls[i] = 1;
    } else {
      throw new ReconError('INTERNAL', `divergence ${i}: ${this.column} is neither a string nor null`);
    }
    this.offsets[i + 1] = this.end;
  }

  finish(): TextColumnData {
    return { offsets: this.offsets, bytes: this.bytes.subarray(0, this.end), nulls: this.nulls };
  }

  private grow(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.end + need));
    this.bytes.copy(bigger, 0, 0, this.end);
    this.bytes = bigger;
  }
}

/** The shard output as a version 2 shard result (see above). */
export function encodeShardResult(output: ShardResultData): Uint8Array {
  const columns = output.divergences;
  const n = columns.rows;
  const sections: { name: string; data: Uint8Array }[] = [];
  for (const column of SHARD_TEXT_COLUMNS) {
    const { offsets, bytes, nulls } = columns.text[column];
    sections.push(
      {
        name: `${column}.offsets`,
        data: new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength),
      },
      { name: `${column}.bytes`, data: bytes },
      { name: `${column}.nulls`, data: nulls },
    );
  }
  const { linhaArquivo: linha, linhaArquivoNulls: linhaNulls, timestamp } = columns;
  sections.push(
    { name: 'linha_arquivo', data: new Uint8Array(linha.buffer) },
    { name: 'linha_arquivo.nulls', data: linhaNulls },
    { name: 'timestamp', data: new Uint8Array(timestamp.buffer) },
  );

  // The header's size depends on the offsets it lists: lay the sections out after a padded header
  // of a fixed size, grown until it fits.
  const meta = {
    version: 2,
    rows: n,
    vendorDuplicates: output.vendorDuplicates,
    baseDuplicates: output.baseDuplicates,
    counts: output.counts,
  };
  let room = 4096;
  for (;;) {
    let at = align8(8 + room);
    const layout = sections.map((s) => {
      const entry = { name: s.name, offset: at, length: s.data.byteLength };
      at = align8(at + s.data.byteLength);
      return entry;
    });
    const header = Buffer.from(JSON.stringify({ ...meta, sections: layout }), 'utf8');
    if (header.length > room) {
      room = header.length * 2;
      continue;
    }
    const file = new Uint8Array(at);
    const view = new DataView(file.buffer);
    view.setUint32(0, SHARD_RESULT_MAGIC, true);
    view.setUint32(4, header.length, true);
    file.set(header, 8);
    file.fill(0x20, 8 + header.length, 8 + room); // JSON whitespace
    for (let k = 0; k < sections.length; k++) file.set(sections[k]!.data, layout[k]!.offset);
    return file;
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** One text field of n rows: value i is UTF-8 bytes[offsets[i], offsets[i + 1]), or null if nulls[i] is 1. */
export interface TextColumnData {
  offsets: Int32Array;
  bytes: Buffer;
  nulls: Uint8Array;
}

export type TextColumnName = (typeof SHARD_TEXT_COLUMNS)[number];

/** Divergence rows held column by column. */
export interface DivergenceColumns {
  rows: number;
  text: Record<TextColumnName, TextColumnData>;
  /** Null where linhaArquivoNulls[i] is 1. */
  linhaArquivo: Float64Array;
  linhaArquivoNulls: Uint8Array;
  timestamp: Float64Array;
}

/** What a matcher hands the reporter for one shard. */
export interface ShardResultData {
  /** Sorted by (tipo_divergencia, ordem_id). */
  divergences: DivergenceColumns;
  vendorDuplicates: (Omit<RejectedLine, 'conteudo'> & { conteudo: string | null })[];
  baseDuplicates: RejectedLine[];
  counts: ShardCounts;
}

/** A decoded shard result: the divergences as columns, ready to be copied into Parquet. */
export interface ShardResultColumns {
  divergences: DivergenceColumns;
  vendorDuplicates: ShardResultData['vendorDuplicates'];
  baseDuplicates: RejectedLine[];
}

interface Header {
  version: number;
  rows: number;
  vendorDuplicates: ShardResultData['vendorDuplicates'];
  baseDuplicates: RejectedLine[];
  sections: { name: string; offset: number; length: number }[];
}

/** Whether `body` is a version 2 shard result. */
export function isShardResultV2(body: Uint8Array): boolean {
  return body.byteLength >= 8 && readU32(body, 0) === SHARD_RESULT_MAGIC;
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Reads a version 2 shard result (`key` names it in errors). */
export function decodeShardResultV2(input: Uint8Array, key: string): ShardResultColumns {
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
  for (const column of SHARD_TEXT_COLUMNS) {
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
