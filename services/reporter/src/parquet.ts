/**
 * Parquet encoder for the divergence output of RULES §6.
 *
 * One pass over the rows fills the Arrow buffers of every column directly (typed arrays, UTF-8
 * bytes written in place; the only per-row garbage is the BigInt of each amount), the columns
 * become one Arrow record batch, which goes to parquet-wasm as an IPC stream and comes back as one
 * Snappy-compressed Parquet file (one row group up to 1M rows, the arrow-rs default).
 *
 * Money never touches a binary float: "-1234.50" → BigInt(-123450) → the 128-bit two's complement
 * words of an Arrow Decimal(18, 2). (parquet-wasm stores it as INT64 with the DECIMAL(18,2) logical
 * type; DuckDB reads it back as DECIMAL(18,2).)
 */
import {
  type DivergenceColumns,
  type DivergenceRow,
  ReconError,
  type TextColumnData,
  type TextColumnName,
  writeUtf8,
} from '@recon/contracts';
import {
  type Data,
  DateDay,
  Decimal,
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
} from 'apache-arrow';
// The `node` build instantiates the WebAssembly module synchronously on import: no `await init()`.
import {
  Compression,
  EnabledStatistics,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm/node';

/** The exact RULES §6 schema, in column order. */
export const DIVERGENCE_SCHEMA = new Schema([
  new Field('job_id', new Utf8(), false),
  new Field('tipo_divergencia', new Utf8(), false),
  new Field('severidade', new Utf8(), false),
  new Field('ordem_id', new Utf8(), false),
  new Field('fornecedor_id', new Utf8(), false),
  new Field('nome', new Utf8(), false),
  new Field('ativo_id', new Utf8(), false),
  new Field('data', new DateDay(), false),
  new Field('data_base', new DateDay(), true),
  new Field('valor_csv', new Decimal(2, 18, 128), true),
  new Field('valor_base', new Decimal(2, 18, 128), true),
  new Field('diferenca', new Decimal(2, 18, 128), true),
  new Field('campo', new Utf8(), true),
  new Field('detalhes', new Utf8(), false),
  new Field('hash_linha', new Utf8(), false),
  new Field('linha_arquivo', new Int32(), true),
  new Field('timestamp', new TimestampMillisecond('UTC'), false),
]);

/**
 * Writer tuning, measured on 200k rows (parquet-wasm 0.8.0): with the defaults (dictionary and
 * page statistics everywhere) writeParquet takes ~340 ms; dictionary encoding only where values
 * repeat and no min/max statistics on text columns bring it to ~170 ms, same file size.
 * A file holds one row group, so text min/max would prune nothing; dates, money, line numbers and
 * timestamps keep their (cheap) statistics.
 */
const DICTIONARY_COLUMNS = ['job_id', 'tipo_divergencia', 'severidade', 'campo', 'data', 'data_base'];
const NO_STATISTICS_COLUMNS = DIVERGENCE_SCHEMA.fields
  .filter((f) => f.type instanceof Utf8)
  .map((f) => f.name);

/** Arrow buffers are little-endian; Decimal and Timestamp words are written in platform order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes rows (already in final order) as one Parquet file, Snappy-compressed, with the exact
 * RULES §6 schema. A value that does not fit its column (money not canonical or over 18 digits,
 * impossible date, null in a non-nullable column, …) throws a ReconError (INTERNAL) naming the row
 * and the column; nothing is written then.
 */
export function encodeDivergencesParquet(rows: readonly DivergenceRow[]): Uint8Array {
  return arrowToParquet(divergencesToArrow(rows));
}

/**
 * The same file as encodeDivergencesParquet(rows), from rows held column by column (shard results,
 * see shard-result.ts): row k is row `at[k]` of `sources[list[k]]`, for k in [from, to). Text is
 * copied byte for byte into the Arrow buffers; the values are validated as encodeDivergencesParquet
 * does, with the same errors.
 */
export function encodeDivergenceColumnsParquet(
  sources: readonly DivergenceColumns[],
  list: Int32Array,
  at: Int32Array,
  from: number,
  to: number,
): Uint8Array {
  return arrowToParquet(divergenceColumnsToArrow(sources, list, at, from, to));
}

/** An Arrow table of the RULES §6 schema as one Snappy Parquet file, with the writer tuning above. */
export function arrowToParquet(table: Table): Uint8Array {
  return ipcToParquet(arrowToIpc(table));
}

/** The table as an Arrow IPC stream, what parquet-wasm reads. */
export function arrowToIpc(table: Table): Uint8Array {
  return tableToIPC(table, 'stream');
}

/** An Arrow IPC stream of the RULES §6 schema as one Snappy Parquet file (see arrowToParquet). */
export function ipcToParquet(ipc: Uint8Array): Uint8Array {
  let builder = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setDictionaryEnabled(false);
  for (const column of DICTIONARY_COLUMNS) builder = builder.setColumnDictionaryEnabled(column, true);
  for (const column of NO_STATISTICS_COLUMNS) {
    builder = builder.setColumnStatisticsEnabled(column, EnabledStatistics.None);
  }
  const props = builder.build();
  // writeParquet consumes (frees) both wasm objects; every builder call consumes its receiver.
  return writeParquet(WasmTable.fromIPCStream(ipc), props);
}

/**
 * The rows as an Arrow table (one record batch) with the RULES §6 schema, validated the same way
 * as encodeDivergencesParquet.
 */
export function divergencesToArrow(rows: readonly DivergenceRow[]): Table {
  const n = rows.length;
  const b = new DivergenceBuilders(n);
  const { jobId, tipo, severidade, ordemId, fornecedorId, nome, ativoId, data, dataBase } = b;
  const { valorCsv, valorBase, diferenca, campo, detalhes, hashLinha, linhaArquivo, timestamp } = b;
  let i = 0;
  try {
    // Each field read by name, row by row: one shape, monomorphic loads.
    for (; i < n; i++) {
      const r = rows[i] as DivergenceRow;
      jobId.push(i, r.job_id);
      tipo.push(i, r.tipo_divergencia);
      severidade.push(i, r.severidade);
      ordemId.push(i, r.ordem_id);
      fornecedorId.push(i, r.fornecedor_id);
      nome.push(i, r.nome);
      ativoId.push(i, r.ativo_id);
      data.push(i, r.data);
      dataBase.push(i, r.data_base);
      valorCsv.push(i, r.valor_csv);
      valorBase.push(i, r.valor_base);
      diferenca.push(i, r.diferenca);
      campo.push(i, r.campo);
      detalhes.push(i, r.detalhes);
      hashLinha.push(i, r.hash_linha);
      linhaArquivo.push(i, r.linha_arquivo);
      timestamp.push(i, r.timestamp);
    }
  } catch (error) {
    badRow(error, i, (rows[i] as Partial<DivergenceRow> | undefined)?.ordem_id);
  }
  return b.toTable();
}

/** Bytes per row a text column starts with when its size is not known in advance. */
const TEXT_BYTES_PER_ROW: Record<Exclude<TextColumnName, DateOrMoney>, number> = {
  job_id: 20,
  tipo_divergencia: 16,
  severidade: 6,
  ordem_id: 16,
  fornecedor_id: 12,
  nome: 32,
  ativo_id: 12,
  campo: 8,
  detalhes: 80,
  hash_linha: 64,
};
type DateOrMoney = 'data' | 'data_base' | 'valor_csv' | 'valor_base' | 'diferenca';

/**
 * The builders of the 17 columns of RULES §6, for n rows: the one place that knows each column's
 * builder, nullability and position in the schema. Text columns start at `textBytes(name)` bytes
 * when given (the exact total), else at a guess per row.
 */
class DivergenceBuilders {
  readonly jobId: Utf8Column;
  readonly tipo: Utf8Column;
  readonly severidade: Utf8Column;
  readonly ordemId: Utf8Column;
  readonly fornecedorId: Utf8Column;
  readonly nome: Utf8Column;
  readonly ativoId: Utf8Column;
  readonly data: DateColumn;
  readonly dataBase: DateColumn;
  readonly valorCsv: DecimalColumn;
  readonly valorBase: DecimalColumn;
  readonly diferenca: DecimalColumn;
  readonly campo: Utf8Column;
  readonly detalhes: Utf8Column;
  readonly hashLinha: Utf8Column;
  readonly linhaArquivo: Int32Column;
  readonly timestamp: TimestampColumn;

  constructor(
    private readonly n: number,
    textBytes?: (name: TextColumnName) => number,
  ) {
    if (!LITTLE_ENDIAN)
      throw new ReconError('INTERNAL', 'the Parquet encoder needs a little-endian platform');
    const utf8 = (name: keyof typeof TEXT_BYTES_PER_ROW, nullable: boolean) =>
      textBytes === undefined
        ? new Utf8Column(name, n, TEXT_BYTES_PER_ROW[name], nullable)
        : new Utf8Column(name, n, 0, nullable, textBytes(name));
    this.jobId = utf8('job_id', false);
    this.tipo = utf8('tipo_divergencia', false);
    this.severidade = utf8('severidade', false);
    this.ordemId = utf8('ordem_id', false);
    this.fornecedorId = utf8('fornecedor_id', false);
    this.nome = utf8('nome', false);
    this.ativoId = utf8('ativo_id', false);
    this.data = new DateColumn('data', n, false);
    this.dataBase = new DateColumn('data_base', n, true);
    this.valorCsv = new DecimalColumn('valor_csv', n);
    this.valorBase = new DecimalColumn('valor_base', n);
    this.diferenca = new DecimalColumn('diferenca', n);
    this.campo = utf8('campo', true);
    this.detalhes = utf8('detalhes', false);
    this.hashLinha = utf8('hash_linha', false);
    this.linhaArquivo = new Int32Column('linha_arquivo', n);
    this.timestamp = new TimestampColumn('timestamp', n);
  }

  /** The columns filled from a text column of a shard result, with that column's name. */
  copied(): [CopyColumn, TextColumnName][] {
    return [
      [this.jobId, 'job_id'],
      [this.tipo, 'tipo_divergencia'],
      [this.severidade, 'severidade'],
      [this.ordemId, 'ordem_id'],
      [this.fornecedorId, 'fornecedor_id'],
      [this.nome, 'nome'],
      [this.ativoId, 'ativo_id'],
      [this.data, 'data'],
      [this.dataBase, 'data_base'],
      [this.valorCsv, 'valor_csv'],
      [this.valorBase, 'valor_base'],
      [this.diferenca, 'diferenca'],
      [this.campo, 'campo'],
      [this.detalhes, 'detalhes'],
      [this.hashLinha, 'hash_linha'],
    ];
  }

  /** The table of the filled columns, in schema order. */
  toTable(): Table {
    const children = [
      this.jobId.finish(),
      this.tipo.finish(),
      this.severidade.finish(),
      this.ordemId.finish(),
      this.fornecedorId.finish(),
      this.nome.finish(),
      this.ativoId.finish(),
      this.data.finish(),
      this.dataBase.finish(),
      this.valorCsv.finish(),
      this.valorBase.finish(),
      this.diferenca.finish(),
      this.campo.finish(),
      this.detalhes.finish(),
      this.hashLinha.finish(),
      this.linhaArquivo.finish(),
      this.timestamp.finish(),
    ];
    const struct = makeData({
      type: new Struct(DIVERGENCE_SCHEMA.fields),
      length: this.n,
      nullCount: 0,
      children,
    });
    return new Table(DIVERGENCE_SCHEMA, [new RecordBatch(DIVERGENCE_SCHEMA, struct)]);
  }
}

function badRow(error: unknown, i: number, ordem: unknown): never {
  if (!(error instanceof BadValue)) throw error;
  const which = typeof ordem === 'string' ? `row ${i} (ordem_id ${JSON.stringify(ordem)})` : `row ${i}`;
  throw new ReconError(
    'INTERNAL',
    `cannot encode divergence ${which}, column ${error.column}: ${error.message}`,
  );
}

export type { DivergenceColumns, TextColumnData, TextColumnName };

/** divergencesToArrow for the rows (list[k], at[k]), k in [from, to), of column-held sources. */
export function divergenceColumnsToArrow(
  sources: readonly DivergenceColumns[],
  list: Int32Array,
  at: Int32Array,
  from: number,
  to: number,
): Table {
  // Every row of every source (one file for the whole report): a column's bytes are its sources'.
  const everyRow = from === 0 && to === list.length && to === sources.reduce((n, s) => n + s.rows, 0);
  const textBytes = (name: TextColumnName) => {
    let total = 0;
    if (everyRow) {
      for (const source of sources) {
        const o = source.text[name].offsets;
        total += o[source.rows]! - o[0]!;
      }
      return total;
    }
    const offsets = sources.map((source) => source.text[name].offsets);
    for (let k = from; k < to; k++) {
      const o = offsets[list[k]!]!;
      const i = at[k]!;
      total += o[i + 1]! - o[i]!;
    }
    return total;
  };
  const b = new DivergenceBuilders(to - from, textBytes);
  // Column by column: each pass reads one column of the sources and writes one buffer.
  const rows: GatherRows = { list, at, from, to };
  let k = from;
  try {
    for (const [column, name] of b.copied()) {
      column.gather(
        sources.map((source) => source.text[name]),
        rows,
      );
    }
    for (k = from; k < to; k++) {
      const src = sources[list[k]!]!;
      const i = at[k]!;
      b.linhaArquivo.push(k - from, src.linhaArquivoNulls[i] === 1 ? null : src.linhaArquivo[i]!);
      b.timestamp.push(k - from, src.timestamp[i]!);
    }
  } catch (error) {
    if (error instanceof BadValue && error.row !== undefined) k = error.row;
    const src = sources[list[k]!]!;
    badRow(error, k - from, textAt(src.text.ordem_id, at[k]!));
  }
  return b.toTable();
}

/** The rows (list[k], at[k]), k in [from, to), of column-held sources, in output order. */
interface GatherRows {
  list: Int32Array;
  at: Int32Array;
  from: number;
  to: number;
}

/**
 * A column that takes values copied from a text column of the sources: output row k - from is
 * row at[k] of `columns[list[k]]` (this column of each source). Each column runs its own loop
 * over the rows (one shape per loop); a bad value throws a BadValue marked with its k.
 */
interface CopyColumn {
  gather(columns: readonly TextColumnData[], rows: GatherRows): void;
}

/**
 * Output row k - from of a gather through the column's push: a null, or a value the fast path
 * did not take (push validates it and throws its BadValue, marked with k).
 */
function pushAt(
  column: { push(i: number, value: string | null): void },
  k: number,
  from: number,
  value: string | null,
): void {
  try {
    column.push(k - from, value);
  } catch (error) {
    if (error instanceof BadValue) error.row = k;
    throw error;
  }
}

/** Value i of a text column as a string (null if null). */
export function textAt(column: TextColumnData, i: number): string | null {
  if (column.nulls[i] === 1) return null;
  return column.bytes.toString('utf8', column.offsets[i]!, column.offsets[i + 1]!);
}

// ---------------------------------------------------------------------------------------------
// Column builders. Each owns its Arrow buffers; push(i, value) is called for i = 0, 1, 2, …

/** A value that does not fit its column; turned into a ReconError naming the row. */
class BadValue extends Error {
  /** Where a gather found it: the index k of the gathered rows (see CopyColumn). */
  row: number | undefined;

  constructor(
    readonly column: string,
    problem: string,
  ) {
    super(problem);
  }
}

/** A value for an error message: strings quoted, long ones cut. */
function show(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Validity bitmap (bit set = valid, LSB first), allocated at the first null. */
class NullMask {
  bits: Uint8Array | undefined;
  count = 0;

  constructor(private readonly n: number) {}

  setNull(i: number): void {
    this.bits ??= new Uint8Array((this.n + 7) >> 3).fill(0xff);
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.count++;
  }

  /** The props makeData wants: no bitmap at all when nothing is null. */
  props(): { nullCount: number; nullBitmap: Uint8Array | undefined } {
    // Keep the padding bits after the last row at 0, as the Arrow format recommends.
    if (this.bits !== undefined && (this.n & 7) !== 0) this.bits[this.n >> 3]! &= (1 << (this.n & 7)) - 1;
    return { nullCount: this.count, nullBitmap: this.count > 0 ? this.bits : undefined };
  }
}

const MAX_UTF8_BYTES = 0x7fffffff; // Utf8 offsets are int32

class Utf8Column {
  /** Bytes past `end` are uninitialized (allocUnsafe) and never read. */
  private bytes: Buffer;
  private readonly offsets: Int32Array;
  private end = 0;
  private readonly nulls: NullMask;

  constructor(
    private readonly name: string,
    n: number,
    bytesPerRow: number,
    private readonly nullable: boolean,
    exactBytes?: number,
  ) {
    if (exactBytes !== undefined && exactBytes > MAX_UTF8_BYTES) this.grow(exactBytes);
    this.bytes = Buffer.allocUnsafe(Math.max(64, exactBytes ?? n * bytesPerRow));
    this.offsets = new Int32Array(n + 1);
    this.nulls = new NullMask(n);
  }

  push(i: number, value: string | null): void {
    if (typeof value !== 'string') {
      if (value !== null || !this.nullable) {
        throw new BadValue(
          this.name,
          `expected a string${this.nullable ? ' or null' : ''}, got ${show(value)}`,
        );
      }
      this.nulls.setNull(i);
      this.offsets[i + 1] = this.end;
      return;
    }
    const len = value.length;
    let end = this.end;
    let bytes = this.bytes;
    if (end + len * 3 > bytes.length) bytes = this.grow(end + len * 3);
    end = writeUtf8(bytes, end, value);
    this.end = end;
    this.offsets[i + 1] = end;
  }

  /**
   * The gathered rows (see CopyColumn), their bytes copied as they are (the capacity was given to
   * the constructor). Four bytes at a time through DataViews, then byte by byte: values are short,
   * and a native copy costs more per call than it saves.
   */
  gather(columns: readonly TextColumnData[], { list, at, from, to }: GatherRows): void {
    const dst = this.bytes;
    const dstWords = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    const words = columns.map((c) => new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength));
    const offsets = this.offsets;
    let end = this.end;
    for (let k = from; k < to; k++) {
      const source = list[k]!;
      const column = columns[source]!;
      const i = at[k]!;
      if (column.nulls[i] === 1) {
        this.end = end;
        pushAt(this, k, from, null);
        continue;
      }
      let p = column.offsets[i]!;
      const stop = column.offsets[i + 1]!;
      if (stop - p >= 4) {
        const srcWords = words[source]!;
        for (; p <= stop - 4; p += 4, end += 4) dstWords.setUint32(end, srcWords.getUint32(p));
      }
      const src = column.bytes;
      for (; p < stop; p++) dst[end++] = src[p]!;
      offsets[k - from + 1] = end;
    }
    this.end = end;
  }

  private grow(needed: number): Buffer {
    if (needed > MAX_UTF8_BYTES) {
      throw new ReconError(
        'INTERNAL',
        `column ${this.name} exceeds 2 GiB of text: write the rows in smaller parts`,
      );
    }
    const bigger = Buffer.allocUnsafe(Math.min(MAX_UTF8_BYTES, Math.max(needed, this.bytes.length * 2)));
    this.bytes.copy(bigger, 0, 0, this.end);
    this.bytes = bigger;
    return bigger;
  }

  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.offsets.length - 1,
      ...this.nulls.props(),
      valueOffsets: this.offsets,
      data: this.bytes.subarray(0, this.end),
    });
  }
}

class DateColumn {
  private readonly days: Int32Array;
  private readonly nulls: NullMask;
  // Dates repeat a lot (one delivery day): reuse the last parse.
  private lastText = '';
  private lastDays = 0;

  constructor(
    private readonly name: string,
    n: number,
    private readonly nullable: boolean,
  ) {
    this.days = new Int32Array(n);
    this.nulls = new NullMask(n);
  }

  push(i: number, value: string | null): void {
    if (typeof value === 'string') {
      if (value !== this.lastText) {
        const days = parseIsoDate(value);
        if (days === undefined)
          throw new BadValue(this.name, `${show(value)} is not a valid YYYY-MM-DD date`);
        this.lastText = value;
        this.lastDays = days;
      }
      this.days[i] = this.lastDays;
    } else if (value === null && this.nullable) {
      this.nulls.setNull(i);
    } else {
      throw new BadValue(
        this.name,
        `expected a YYYY-MM-DD string${this.nullable ? ' or null' : ''}, got ${show(value)}`,
      );
    }
  }

  /** The gathered rows (see CopyColumn), parsed from their bytes. */
  gather(columns: readonly TextColumnData[], { list, at, from, to }: GatherRows): void {
    const out = this.days;
    for (let k = from; k < to; k++) {
      const column = columns[list[k]!]!;
      const i = at[k]!;
      const days =
        column.nulls[i] === 1
          ? undefined
          : parseIsoDateBytes(column.bytes, column.offsets[i]!, column.offsets[i + 1]!);
      // A null, or the error of a bad text.
      if (days === undefined) pushAt(this, k, from, textAt(column, i));
      else out[k - from] = days;
    }
  }

  finish(): Data<DateDay> {
    return makeData({
      type: new DateDay(),
      length: this.days.length,
      ...this.nulls.props(),
      data: this.days,
    });
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/**
 * "YYYY-MM-DD" (year 0001–9999, a real calendar day) → days since 1970-01-01, by integer
 * arithmetic only; undefined if it is not such a date.
 */
export function parseIsoDate(s: string): number | undefined {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const y = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const m = digit(s, 5) * 10 + digit(s, 6);
  const d = digit(s, 8) * 10 + digit(s, 9);
  return civilDays(y, m, d);
}

function byteDigit(b: Uint8Array, i: number): number {
  const d = b[i]! - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/** parseIsoDate of the UTF-8 text b[start, end) (a valid date is ASCII: same answer). */
export function parseIsoDateBytes(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start !== 10 || b[start + 4] !== 45 || b[start + 7] !== 45) return undefined;
  const y =
    byteDigit(b, start) * 1000 +
    byteDigit(b, start + 1) * 100 +
    byteDigit(b, start + 2) * 10 +
    byteDigit(b, start + 3);
  const m = byteDigit(b, start + 5) * 10 + byteDigit(b, start + 6);
  const d = byteDigit(b, start + 8) * 10 + byteDigit(b, start + 9);
  return civilDays(y, m, d);
}

function civilDays(y: number, m: number, d: number): number | undefined {
  if (!(y >= 1 && m >= 1 && m <= 12 && d >= 1)) return undefined; // NaN fails every comparison
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (m === 2 && leap ? 29 : (DAYS_IN_MONTH[m - 1] as number))) return undefined;
  // days_from_civil (H. Hinnant), proleptic Gregorian calendar.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Optional '-', 1 to 16 integer digits, '.', exactly 2 decimals: at most 18 digits, DECIMAL(18,2). */
const MONEY = /^-?\d{1,16}\.\d{2}$/;

class DecimalColumn {
  /** 4 little-endian 32-bit words per value (128-bit two's complement), as Arrow wants. */
  private readonly words: Uint32Array;
  /** The same memory as two 64-bit halves per value: BigInt stores are exact. */
  private readonly halves: BigInt64Array;
  private readonly nulls: NullMask;

  constructor(
    private readonly name: string,
    n: number,
  ) {
    this.words = new Uint32Array(n * 4);
    this.halves = new BigInt64Array(this.words.buffer);
    this.nulls = new NullMask(n);
  }

  push(i: number, value: string | null): void {
    if (typeof value === 'string') {
      if (!MONEY.test(value)) {
        throw new BadValue(
          this.name,
          `${show(value)} is not a canonical decimal (optional '-', 1 to 16 integer digits, '.', exactly 2 decimals)`,
        );
      }
      // Unscaled cents: drop the '.', parse the digits as a BigInt. |cents| < 10^18 < 2^63.
      const cents = BigInt(value.slice(0, -3) + value.slice(-2));
      this.halves[2 * i] = cents; // low 64 bits
      if (cents < 0n) this.halves[2 * i + 1] = -1n; // high 64 bits: sign extension (else stays 0)
    } else if (value === null) {
      this.nulls.setNull(i);
    } else {
      throw new BadValue(this.name, `expected a decimal string or null, got ${show(value)}`);
    }
  }

  /** The gathered rows (see CopyColumn). */
  gather(columns: readonly TextColumnData[], { list, at, from, to }: GatherRows): void {
    for (let k = from; k < to; k++) {
      const column = columns[list[k]!]!;
      const i = at[k]!;
      if (column.nulls[i] === 1) this.nulls.setNull(k - from);
      else if (!this.copyBytes(k - from, column.bytes, column.offsets[i]!, column.offsets[i + 1]!))
        pushAt(this, k, from, textAt(column, i)); // over 15 digits, or not canonical (throws)
    }
  }

  /**
   * Value i from the text b[start, end), without a BigInt: false (nothing written) when it is
   * not canonical or has more than 15 digits.
   */
  private copyBytes(i: number, b: Buffer, start: number, end: number): boolean {
    const negative = b[start] === 45;
    const first = negative ? start + 1 : start;
    const point = end - 3;
    const intDigits = point - first;
    if (intDigits < 1 || intDigits > 13 || b[point] !== 46) return false;
    let cents = 0;
    for (let p = first; p < end; p++) {
      if (p === point) continue;
      const d = b[p]! - 48;
      if (d < 0 || d > 9) return false;
      cents = cents * 10 + d; // < 10^15 < 2^53: exact
    }
    // The 128-bit two's complement words, as push's BigInt stores give ("-0.00" is 0).
    const w = this.words;
    const o = 4 * i;
    const lo = cents % 0x100000000;
    const hi = (cents - lo) / 0x100000000;
    if (!negative || cents === 0) {
      w[o] = lo;
      w[o + 1] = hi;
    } else if (lo === 0) {
      w[o] = 0;
      w[o + 1] = 0x100000000 - hi;
      w[o + 2] = 0xffffffff;
      w[o + 3] = 0xffffffff;
    } else {
      w[o] = 0x100000000 - lo;
      w[o + 1] = 0xffffffff - hi;
      w[o + 2] = 0xffffffff;
      w[o + 3] = 0xffffffff;
    }
    return true;
  }

  finish(): Data<Decimal> {
    return makeData({
      type: new Decimal(2, 18, 128),
      length: this.words.length / 4,
      ...this.nulls.props(),
      data: this.words,
    });
  }
}

class Int32Column {
  private readonly values: Int32Array;
  private readonly nulls: NullMask;

  constructor(
    private readonly name: string,
    n: number,
  ) {
    this.values = new Int32Array(n);
    this.nulls = new NullMask(n);
  }

  push(i: number, value: number | null): void {
    if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
      this.values[i] = value;
    } else if (value === null) {
      this.nulls.setNull(i);
    } else {
      throw new BadValue(this.name, `expected a 32-bit integer or null, got ${show(value)}`);
    }
  }

  finish(): Data<Int32> {
    return makeData({
      type: new Int32(),
      length: this.values.length,
      ...this.nulls.props(),
      data: this.values,
    });
  }
}

class TimestampColumn {
  private readonly values: BigInt64Array;
  // Timestamps repeat (one per batch of divergences): convert each distinct value once.
  private last = Number.NaN;
  private lastBig = 0n;

  constructor(
    private readonly name: string,
    n: number,
  ) {
    this.values = new BigInt64Array(n);
  }

  push(i: number, value: number): void {
    if (value !== this.last) {
      if (!Number.isSafeInteger(value)) {
        throw new BadValue(this.name, `expected integer epoch milliseconds, got ${show(value)}`);
      }
      this.last = value;
      this.lastBig = BigInt(value);
    }
    this.values[i] = this.lastBig;
  }

  finish(): Data<TimestampMillisecond> {
    return makeData({
      type: new TimestampMillisecond('UTC'),
      length: this.values.length,
      nullCount: 0,
      data: this.values,
    });
  }
}
