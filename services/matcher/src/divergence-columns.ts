import {
  type Campo,
  compareUtf8,
  type DivergenceColumns,
  finishTextColumns,
  SEVERIDADES,
  type Severidade,
  type ShardCounts,
  sameBytes,
  type TextColumnData,
  type TextColumnName,
  TIPOS,
  type TipoDivergencia,
  textColumnBuilders,
  unescapeShardField,
} from '@recon/contracts';
import { hashLinhaBytesInto, subtractValor } from '@recon/rules';
import { type SeverityPolicy, valorSeverity } from './severity.ts';

/** What every divergence row of a shard shares. */
export interface RowContext {
  jobId: string;
  timestamp: number;
  severity: SeverityPolicy;
}

const TAB = 9;
const LF = 10;
const CR = 13;
const BACKSLASH = 92;
const QUOTE = 34;

/** Fields of an encoded shard line (see `@recon/contracts` shard-format), by position. */
const LINHA = 0;
const ORDEM = 1;
const FORNECEDOR = 2;
const NOME = 3;
const ATIVO = 4;
const DATA = 5;
const VALOR = 6;

const tipo = (t: TipoDivergencia) => TIPOS.indexOf(t);
const TIPO_1 = tipo('TIPO_1');
const TIPO_2 = tipo('TIPO_2');

/** A TIPO_3 check: its tipo code, the field it compares, and whether detalhes quotes its values. */
interface FieldCheck {
  tipo: number;
  campo: Campo;
  field: number;
  quoted: boolean;
}

/** The TIPO_3 checks in the order rows come out per order (as RULES §4 lists the fields). */
const FIELD_CHECKS: FieldCheck[] = [
  { tipo: tipo('TIPO_3_VALOR'), campo: 'valor', field: VALOR, quoted: false },
  { tipo: tipo('TIPO_3_DATA'), campo: 'data', field: DATA, quoted: false },
  { tipo: tipo('TIPO_3_NOME'), campo: 'nome', field: NOME, quoted: true },
  { tipo: tipo('TIPO_3_ATIVO'), campo: 'ativo_id', field: ATIVO, quoted: false },
  { tipo: tipo('TIPO_3_FORNECEDOR'), campo: 'fornecedor_id', field: FORNECEDOR, quoted: false },
];
/** Per tipo code: its check (TIPO_3_*), else undefined. */
const CHECK_OF = TIPOS.map((_, t) => FIELD_CHECKS.find((c) => c.tipo === t));

/** Per tipo code: its rank in the sort order of RULES §6 (the tipo strings compared). */
const RANK = (() => {
  const sorted = [...TIPOS].sort();
  return Int32Array.from(TIPOS, (t) => sorted.indexOf(t));
})();
/** Per rank: its tipo code (RANK's inverse). */
const TIPO_OF_RANK = Int32Array.from(TIPOS, (_, rank) => RANK.indexOf(rank));

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const TIPO_BYTES = TIPOS.map(utf8);
const SEVERITY_BYTES = SEVERIDADES.map(utf8);
const CAMPO_BYTES = TIPOS.map((_, t) => utf8(CHECK_OF[t]?.campo ?? ''));
// The pieces of `detalhes` (RULES §6), around the values copied from the lines.
const ORDEM_ = utf8('ordem ');
const IN_FILE_LINE = utf8(' está no arquivo (linha ');
const NOT_IN_BASE = utf8(') e não está na base');
const IN_BASE_NOT_FILE = utf8(' está na base e não está no arquivo');
const IN_FILE = utf8(' no arquivo ');
const IN_BASE = utf8(', na base ');
const DIFFERENCE = utf8(' (diferença ');
const CLOSE = utf8(')');

/** Ints per logged row: its tipo code and its divergent order. */
const STRIDE = 2;

/**
 * A shard's divergences, logged as the classification finds them (a few ints per row, the lines
 * stay bytes) and written at the end as the columns of a shard result, sorted by (tipo, ordem_id):
 * every text value is copied from the encoded lines or from constant pieces, never held as a JS
 * string. Each divergent order's `hash_linha` is computed once, from its canonical line rebuilt
 * in bytes.
 */
export class DivergenceLog {
  private rows = 0;
  /** Divergent orders so far. */
  private orders = 0;
  private log = new Int32Array(STRIDE * 1024);
  /** 64 hex digits per divergent order. */
  private hashes: Buffer = Buffer.allocUnsafe(64 * 1024);
  /**
   * Per divergent order: its `diferenca` (TIPO_3 only, else empty), ASCII bytes
   * [difEnds[order], difEnds[order + 1]) of `difs`, and its TIPO_3_VALOR severity (an index of
   * SEVERIDADES). Typed arrays, not arrays of strings and nulls: each shard's fresh arrays changed
   * their elements kind at their first value, and the optimized code of every shard's first
   * divergences was thrown away for it.
   */
  private difs: Buffer = Buffer.allocUnsafe(8 * 1024);
  private difEnds = new Int32Array(1024 + 1);
  private valorSeverities = new Int32Array(1024);
  /**
   * Per divergent order, 16 ints: the field starts of its row's line (vendor, or base for TIPO_2),
   * then of its base line (TIPO_3), as `fieldBounds` gives them.
   */
  private bounds = new Int32Array(16 * 1024);
  private canonical = Buffer.allocUnsafe(1024);
  private readonly fv = new Int32Array(8);
  private readonly fb = new Int32Array(8);

  constructor(
    private readonly V: Buffer,
    private B: Buffer,
    private readonly context: RowContext,
  ) {}

  /** The base bytes grew (lines appended after the old ones, which keep their places). */
  rebase(B: Buffer): void {
    this.B = B;
  }

  /** TIPO_1: the vendor line at `line` has no base line. */
  missingInBase(line: number): void {
    fieldBounds(this.V, line, this.fv);
    this.push(TIPO_1, this.newOrder(this.V, this.fv, null, null, null));
  }

  /** TIPO_2: the base line at `line`, in scope, has no vendor line. */
  missingInFile(line: number): void {
    fieldBounds(this.B, line, this.fb);
    this.push(TIPO_2, this.newOrder(this.B, this.fb, null, null, null));
  }

  /** TIPO_3: one row per field where the vendor line at `v` and the base line at `b` differ; whether any did. */
  fieldsDiffer(v: number, b: number): boolean {
    const { V, B, fv, fb } = this;
    fieldBounds(V, v, fv);
    fieldBounds(B, b, fb);
    let order = -1;
    for (const check of FIELD_CHECKS) {
      const k = check.field;
      if (sameBytes(V, fv[k]!, fv[k + 1]! - 1, B, fb[k]!, fb[k + 1]! - 1)) continue;
      if (order < 0) {
        const diferenca = subtractValor(text(V, fv, VALOR), text(B, fb, VALOR));
        order = this.newOrder(V, fv, fb, diferenca, valorSeverity(this.context.severity, diferenca));
      }
      this.push(check.tipo, order);
    }
    return order >= 0;
  }

  private push(tipo: number, order: number): void {
    if (STRIDE * (this.rows + 1) > this.log.length) this.log = grown(this.log);
    const at = STRIDE * this.rows++;
    this.log[at] = tipo;
    this.log[at + 1] = order;
  }

  /**
   * A new divergent order: its line's field bounds `f` (of `bytes`), its base line's `fb` (TIPO_3),
   * and its hash_linha, from the line's fields.
   */
  private newOrder(
    bytes: Buffer,
    f: Int32Array,
    fb: Int32Array | null,
    diferenca: string | null,
    valorSev: Severidade | null,
  ): number {
    const order = this.orders++;
    this.hashes = withRoom(this.hashes, 64 * order, 64 * this.orders);
    if (16 * this.orders > this.bounds.length) this.bounds = grown(this.bounds);
    if (this.orders >= this.difEnds.length) this.difEnds = grown(this.difEnds);
    if (this.orders > this.valorSeverities.length) this.valorSeverities = grown(this.valorSeverities);
    this.bounds.set(f, 16 * order);
    if (fb !== null) this.bounds.set(fb, 16 * order + 8);
    // The canonical line (RULES §6): the six fields unescaped, in canonical order, joined by ';'.
    if (this.canonical.length < f[7]! - f[0]!) this.canonical = Buffer.allocUnsafe(2 * (f[7]! - f[0]!));
    const out = this.canonical;
    let at = copyField(bytes, f[FORNECEDOR]!, f[FORNECEDOR + 1]! - 1, out, 0);
    out[at++] = 59;
    at = copyField(bytes, f[ORDEM]!, f[ORDEM + 1]! - 1, out, at);
    for (const k of [NOME, ATIVO, DATA, VALOR]) {
      out[at++] = 59;
      at = copyField(bytes, f[k]!, f[k + 1]! - 1, out, at);
    }
    hashLinhaBytesInto(out.subarray(0, at), this.hashes, 64 * order);
    let difEnd = this.difEnds[order]!;
    if (diferenca !== null) {
      this.difs = withRoom(this.difs, difEnd, difEnd + diferenca.length);
      difEnd += this.difs.write(diferenca, difEnd, 'latin1');
    }
    this.difEnds[order + 1] = difEnd;
    this.valorSeverities[order] = valorSev === null ? 0 : SEVERIDADES.indexOf(valorSev);
    return order;
  }

  /**
   * The logged rows as columns, sorted by (tipo_divergencia, ordem_id) as RULES §6 orders them
   * (ordem_id by UTF-16 units, as the strings compare), and their counts added to `counts`.
   *
   * The rows of each tipo are written by a loop of their own (TIPO_1, TIPO_2, the TIPO_3 checks):
   * one loop for every tipo made a function so large that compiling it took a worker ~50 ms, and
   * each tipo it met for the first time in a shard threw that code away and compiled it again.
   */
  finish(counts: ShardCounts): DivergenceColumns {
    const n = this.rows;
    const { sorted, groupEnds, textBytes } = this.sortedRows();
    const out = new RowWriters(n, this.orders, textBytes, this.context.jobId);
    let from = 0;
    for (let rank = 0; rank < groupEnds.length; rank++) {
      const to = groupEnds[rank]!;
      if (to === from) continue;
      const t = TIPO_OF_RANK[rank]!;
      if (t === TIPO_1) this.writeMissingInBase(out, sorted, from, to);
      else if (t === TIPO_2) this.writeMissingInFile(out, sorted, from, to);
      else this.writeFieldsDiffer(out, sorted, from, to, t, CHECK_OF[t]!);
      counts.byType[TIPOS[t]!] += to - from;
      from = to;
    }
    for (let sev = 0; sev < SEVERIDADES.length; sev++)
      counts.bySeverity[SEVERIDADES[sev]!] += out.rowsBySeverity[sev]!;
    const bySupplier = new Map<string, number>();
    for (let order = 0; order < this.orders; order++) {
      const supplier = out.suppliers[order]!;
      bySupplier.set(supplier, (bySupplier.get(supplier) ?? 0) + out.rowsOf[order]!);
    }
    for (const [supplier, rows] of bySupplier)
      counts.bySupplier[supplier] = (counts.bySupplier[supplier] ?? 0) + rows;
    counts.rows += n;
    return {
      rows: n,
      text: finishTextColumns(out.w),
      linhaArquivo: out.linhaArquivo,
      linhaArquivoNulls: out.linhaArquivoNulls,
      timestamp: new Float64Array(n).fill(this.context.timestamp),
    };
  }

  /**
   * The logged rows in output order: by tipo (in the order of the tipo strings), then by ordem_id.
   * `groupEnds[rank]`: where the rows of the tipo of that rank end in `sorted`.
   */
  private sortedRows(): { sorted: Int32Array; groupEnds: Int32Array; textBytes: number } {
    const { V, B, log, bounds } = this;
    const n = this.rows;
    const byRank: number[][] = TIPOS.map(() => []);
    // Each row's ordem_id: where its bytes lie (in B for TIPO_2, else in V).
    const keyStarts = new Int32Array(n);
    const keyEnds = new Int32Array(n);
    let textBytes = 0;
    for (let i = 0; i < n; i++) {
      byRank[RANK[log[STRIDE * i]!]!]!.push(i);
      const o = 16 * log[STRIDE * i + 1]!;
      keyStarts[i] = bounds[o + ORDEM]!;
      keyEnds[i] = bounds[o + ORDEM + 1]! - 1;
      textBytes += bounds[o + 7]! - bounds[o]!;
    }
    const sorted = new Int32Array(n);
    const groupEnds = new Int32Array(byRank.length);
    let next = 0;
    for (let rank = 0; rank < byRank.length; rank++) {
      const rows = byRank[rank]!;
      if (rows.length > 1) sortByOrdem(rows, rank === RANK[TIPO_2] ? B : V, keyStarts, keyEnds);
      for (const i of rows) sorted[next++] = i;
      groupEnds[rank] = next;
    }
    return { sorted, groupEnds, textBytes };
  }

  /**
   * What every row writes (job_id to hash_linha) for row `i` of tipo `t`, severity `sev` (an index
   * of SEVERIDADES), and its order's line in `src`; the row is counted under its severity, and the
   * order's supplier is read once, from its first row. Returns the order's bounds index.
   */
  private writeCommon(out: RowWriters, i: number, t: number, sev: number, src: Buffer): number {
    const order = this.log[STRIDE * i + 1]!;
    const { bounds } = this;
    const { w } = out;
    const f = 16 * order;
    if (out.rowsOf[order]!++ === 0)
      out.suppliers[order] = decodeField(src, bounds[f + FORNECEDOR]!, bounds[f + FORNECEDOR + 1]! - 1);
    w.job_id.put(out.jobIdBytes, 0, out.jobIdBytes.length);
    w.tipo_divergencia.put(TIPO_BYTES[t]!, 0, TIPO_BYTES[t]!.length);
    w.severidade.put(SEVERITY_BYTES[sev]!, 0, SEVERITY_BYTES[sev]!.length);
    out.rowsBySeverity[sev]!++;
    w.ordem_id.field(src, bounds[f + ORDEM]!, bounds[f + ORDEM + 1]! - 1);
    w.fornecedor_id.field(src, bounds[f + FORNECEDOR]!, bounds[f + FORNECEDOR + 1]! - 1);
    w.nome.field(src, bounds[f + NOME]!, bounds[f + NOME + 1]! - 1);
    w.ativo_id.field(src, bounds[f + ATIVO]!, bounds[f + ATIVO + 1]! - 1);
    w.data.put(src, bounds[f + DATA]!, bounds[f + DATA + 1]! - 1);
    w.hash_linha.put(this.hashes, 64 * order, 64 * order + 64);
    return f;
  }

  /** The severity of every row of tipo `t` (not TIPO_3_VALOR), as an index of SEVERIDADES. */
  private typeSeverity(t: number): number {
    return SEVERIDADES.indexOf(
      this.context.severity.byType[TIPOS[t] as Exclude<TipoDivergencia, 'TIPO_3_VALOR'>],
    );
  }

  /** TIPO_1 rows sorted[from..to): the vendor line, no base line (RULES §6 detalhes). */
  private writeMissingInBase(out: RowWriters, sorted: Int32Array, from: number, to: number): void {
    const { V, bounds } = this;
    const { w } = out;
    const sev = this.typeSeverity(TIPO_1);
    for (let k = from; k < to; k++) {
      const f = this.writeCommon(out, sorted[k]!, TIPO_1, sev, V);
      w.detalhes.append(ORDEM_, 0, ORDEM_.length);
      w.detalhes.quoted(V, bounds[f + ORDEM]!, bounds[f + ORDEM + 1]! - 1, false);
      w.detalhes.append(IN_FILE_LINE, 0, IN_FILE_LINE.length);
      w.detalhes.append(V, bounds[f + LINHA]!, bounds[f + LINHA + 1]! - 1);
      w.detalhes.append(NOT_IN_BASE, 0, NOT_IN_BASE.length);
      w.detalhes.end();
      w.data_base.none();
      w.valor_csv.put(V, bounds[f + VALOR]!, bounds[f + VALOR + 1]! - 1);
      w.valor_base.none();
      w.diferenca.none();
      w.campo.none();
      out.linhaArquivo[k] = parseLinha(V, bounds[f + LINHA]!);
    }
  }

  /** TIPO_2 rows sorted[from..to): the base line, no vendor line. */
  private writeMissingInFile(out: RowWriters, sorted: Int32Array, from: number, to: number): void {
    const { B, bounds } = this;
    const { w } = out;
    const sev = this.typeSeverity(TIPO_2);
    for (let k = from; k < to; k++) {
      const f = this.writeCommon(out, sorted[k]!, TIPO_2, sev, B);
      w.detalhes.append(ORDEM_, 0, ORDEM_.length);
      w.detalhes.quoted(B, bounds[f + ORDEM]!, bounds[f + ORDEM + 1]! - 1, false);
      w.detalhes.append(IN_BASE_NOT_FILE, 0, IN_BASE_NOT_FILE.length);
      w.detalhes.end();
      w.data_base.put(B, bounds[f + DATA]!, bounds[f + DATA + 1]! - 1);
      w.valor_csv.none();
      w.valor_base.put(B, bounds[f + VALOR]!, bounds[f + VALOR + 1]! - 1);
      w.diferenca.none();
      w.campo.none();
      out.linhaArquivoNulls[k] = 1;
    }
  }

  /** TIPO_3 rows sorted[from..to) of one check: the vendor line and its base line differ there. */
  private writeFieldsDiffer(
    out: RowWriters,
    sorted: Int32Array,
    from: number,
    to: number,
    t: number,
    check: FieldCheck,
  ): void {
    const { V, B, bounds, difs, difEnds } = this;
    const { w } = out;
    const k = check.field;
    const campoBytes = CAMPO_BYTES[t]!;
    // TIPO_3_VALOR: each order's own, by its difference.
    const typeSev = check.campo === 'valor' ? -1 : this.typeSeverity(t);
    for (let r = from; r < to; r++) {
      const i = sorted[r]!;
      const order = this.log[STRIDE * i + 1]!;
      const f = this.writeCommon(out, i, t, typeSev < 0 ? this.valorSeverities[order]! : typeSev, V);
      const fb = f + 8;
      w.detalhes.append(campoBytes, 0, campoBytes.length);
      w.detalhes.append(IN_FILE, 0, IN_FILE.length);
      w.detalhes.quoted(V, bounds[f + k]!, bounds[f + k + 1]! - 1, check.quoted);
      w.detalhes.append(IN_BASE, 0, IN_BASE.length);
      w.detalhes.quoted(B, bounds[fb + k]!, bounds[fb + k + 1]! - 1, check.quoted);
      if (k === VALOR) {
        w.detalhes.append(DIFFERENCE, 0, DIFFERENCE.length);
        w.detalhes.append(difs, difEnds[order]!, difEnds[order + 1]!);
        w.detalhes.append(CLOSE, 0, CLOSE.length);
      }
      w.detalhes.end();
      w.data_base.put(B, bounds[fb + DATA]!, bounds[fb + DATA + 1]! - 1);
      w.valor_csv.put(V, bounds[f + VALOR]!, bounds[f + VALOR + 1]! - 1);
      w.valor_base.put(B, bounds[fb + VALOR]!, bounds[fb + VALOR + 1]! - 1);
      w.diferenca.put(difs, difEnds[order]!, difEnds[order + 1]!);
      w.campo.put(campoBytes, 0, campoBytes.length);
      out.linhaArquivo[r] = parseLinha(V, bounds[f + LINHA]!);
    }
  }
}

/** The columns of a shard's rows being written, the per-order supplier counts and the severity counts. */
class RowWriters {
  readonly w: Record<TextColumnName, ColumnWriter>;
  readonly linhaArquivo: Float64Array;
  readonly linhaArquivoNulls: Uint8Array;
  readonly jobIdBytes: Buffer;
  /** Rows per divergent order (the supplier counts, per supplier once the rows are written). */
  readonly rowsOf: Int32Array;
  readonly suppliers: string[];
  /** Rows written per severity (an index of SEVERIDADES). */
  readonly rowsBySeverity = new Int32Array(SEVERIDADES.length);

  constructor(n: number, orders: number, textBytes: number, jobId: string) {
    // A first guess of each column's size from the lines' (grown when short).
    const per = Math.ceil(textBytes / Math.max(n, 1));
    const guess: Partial<Record<TextColumnName, number>> = {
      job_id: jobId.length * 3,
      tipo_divergencia: 17,
      ordem_id: per >> 2,
      fornecedor_id: per >> 3,
      nome: per >> 1,
      ativo_id: per >> 3,
      detalhes: 64 + (per >> 1),
      hash_linha: 64,
    };
    this.w = textColumnBuilders((column) => new ColumnWriter(n, guess[column] ?? 10));
    this.linhaArquivo = new Float64Array(n);
    this.linhaArquivoNulls = new Uint8Array(n);
    this.jobIdBytes = utf8(jobId);
    this.rowsOf = new Int32Array(orders);
    this.suppliers = new Array(orders);
  }
}

/**
 * Sorts rows of one tipo (their keys [keyStarts[i], keyEnds[i]) of `bytes`) by ordem_id as strings
 * compare (UTF-16 units): on the key's UTF-8 bytes (compareUtf8), except a key holding an escape,
 * which is decoded (a pair with one compares as strings).
 */
function sortByOrdem(rows: number[], bytes: Buffer, keyStarts: Int32Array, keyEnds: Int32Array): void {
  const decoded = escapedKeys(rows, bytes, keyStarts, keyEnds);
  rows.sort((a, b) => {
    const da = decoded[a];
    const db = decoded[b];
    if (da !== undefined || db !== undefined) {
      const ka = da ?? decodeField(bytes, keyStarts[a]!, keyEnds[a]!);
      const kb = db ?? decodeField(bytes, keyStarts[b]!, keyEnds[b]!);
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    }
    return compareUtf8(bytes, keyStarts[a]!, keyEnds[a]!, bytes, keyStarts[b]!, keyEnds[b]!) || a - b;
  });
}

/** The keys of `rows` that hold an escape, decoded (by row; the others are left undefined). */
function escapedKeys(
  rows: readonly number[],
  bytes: Buffer,
  keyStarts: Int32Array,
  keyEnds: Int32Array,
): (string | undefined)[] {
  const decoded: (string | undefined)[] = [];
  for (const i of rows) {
    for (let k = keyStarts[i]!; k < keyEnds[i]!; k++) {
      if (bytes[k] === BACKSLASH) {
        decoded[i] = decodeField(bytes, keyStarts[i]!, keyEnds[i]!);
        break;
      }
    }
  }
  return decoded;
}

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/**
 * `buffer` when it holds `need` bytes; else a buffer at least twice as large, holding its first
 * `used` bytes.
 */
function withRoom(buffer: Buffer, used: number, need: number): Buffer {
  if (need <= buffer.length) return buffer;
  const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, need));
  buffer.copy(bigger, 0, 0, used);
  return bigger;
}

/**
 * The field starts of the encoded line at `start`: `f[k]` is where field k starts, `f[7]` one past
 * the line break (field k spans [f[k], f[k + 1] - 1)).
 */
function fieldBounds(bytes: Buffer, start: number, f: Int32Array): void {
  f[0] = start;
  let k = start;
  for (let field = 1; field < 7; field++) {
    while (bytes[k] !== TAB) k++;
    f[field] = ++k;
  }
  while (bytes[k] !== LF) k++;
  f[7] = k + 1;
}

/** Field k of a line (bounds `f`) as text; data and valor never hold escapes. */
function text(bytes: Buffer, f: Int32Array, k: number): string {
  return bytes.toString('latin1', f[k]!, f[k + 1]! - 1);
}

/** The encoded field [from, to) as the string it encodes. */
export function decodeField(bytes: Buffer, from: number, to: number): string {
  const s = bytes.toString('utf8', from, to);
  for (let k = from; k < to; k++) if (bytes[k] === BACKSLASH) return unescapeShardField(s);
  return s;
}

/** The `linha` at the start of the encoded line at `pos` (its digits, up to the first tab). */
export function parseLinha(bytes: Buffer, pos: number): number {
  let linha = 0;
  for (let k = pos; bytes[k] !== TAB; k++) linha = linha * 10 + (bytes[k]! - 48);
  return linha;
}

/** Copies the encoded field [from, to) of `src` unescaped to `dst[at]`; returns the new end. */
function copyField(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  for (let k = from; k < to; k++) {
    let c = src[k]!;
    if (c === BACKSLASH) {
      c = src[++k]!;
      c = c === 116 ? TAB : c === 110 ? LF : c === 114 ? CR : c;
    }
    dst[at++] = c;
  }
  return at;
}

/** One text column of n rows, written row after row: a value, then `end`, or `none` (null). */
class ColumnWriter {
  private bytes: Buffer;
  private at = 0;
  private row = 0;
  private readonly offsets: Int32Array;
  private readonly nulls: Uint8Array;

  constructor(n: number, perRow: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, n * Math.max(perRow, 1)));
    this.offsets = new Int32Array(n + 1);
    this.nulls = new Uint8Array(n);
  }

  /** Raw bytes [from, to) of `src` (no escapes in them), as this row's whole value. */
  put(src: Uint8Array, from: number, to: number): void {
    this.append(src, from, to);
    this.end();
  }

  /** The encoded field [from, to) of `src`, unescaped, as this row's whole value. */
  field(src: Buffer, from: number, to: number): void {
    this.room(to - from);
    this.at = copyField(src, from, to, this.bytes, this.at);
    this.end();
  }

  none(): void {
    this.nulls[this.row] = 1;
    this.end();
  }

  /** Ends the row's value (after `append`, `quoted` or `ascii` pieces). */
  end(): void {
    this.offsets[++this.row] = this.at;
  }

  append(src: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    const bytes = this.bytes;
    let at = this.at;
    for (let k = from; k < to; k++) bytes[at++] = src[k]!;
    this.at = at;
  }

  /** A piece of this row's value: the encoded field [from, to) unescaped, in double quotes if `quoted`. */
  quoted(src: Buffer, from: number, to: number, quoted: boolean): void {
    this.room(to - from + 2);
    if (quoted) this.bytes[this.at++] = QUOTE;
    this.at = copyField(src, from, to, this.bytes, this.at);
    if (quoted) this.bytes[this.at++] = QUOTE;
  }

  finish(): TextColumnData {
    return { offsets: this.offsets, bytes: this.bytes.subarray(0, this.at), nulls: this.nulls };
  }

  private room(need: number): void {
    if (this.at + need > this.bytes.length) this.bytes = withRoom(this.bytes, this.at, this.at + need);
  }
}
