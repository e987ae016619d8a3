import { isBlankBytes, type OnRecord, quotedRecordEndBytes, type ScanResult, scanRecords } from './csv.ts';

/**
 * The partition fast path: records validated, normalized and encoded as shard lines straight
 * from the file's UTF-8 bytes, without building a string per field — quoted fields included, as
 * long as the record is on one line. Anything else (a quoted field going on past the line, field
 * count, empty `ordem_id`, a bad date or valor, non-ASCII `ordem_id`) is refused and goes through
 * the general path (`scanRecords` + `normalizeRecord`), so rejects and their messages come from
 * one place. Byte strings decoded with `latin1` have one character per byte, so string positions
 * are byte offsets.
 */

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const SEMI = 59;
const COMMA = 44;
const BACKSLASH = 92;
const QUOTE = 34;

/** What the field split does with each byte. */
const PLAIN = 0;
/** Below space (tab, CR…), backslash, or a UTF-8 lead byte of U+0300 or above: escapes or NFC. */
const SPECIAL = 1;
const SEPARATOR = 2;
const QUOTED = 3;
const BYTE_KIND = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  BYTE_KIND[c] =
    c === SEMI
      ? SEPARATOR
      : c === QUOTE
        ? QUOTED
        : c < SPACE || c === BACKSLASH || c >= 0xcc
          ? SPECIAL
          : PLAIN;
}

/**
 * `(hash >>> 0) % shardCount` (`shardOf`) in 32-bit integer arithmetic: the unsigned hash does not
 * fit an int32, and a float modulo per record was a tenth of the fast path.
 */
export function shardOfHash(hash: number, shardCount: number): number {
  if ((shardCount & (shardCount - 1)) === 0) return hash & (shardCount - 1);
  if (shardCount > 0x7fff) return (hash >>> 0) % shardCount;
  return ((((hash >>> 16) % shardCount) << 16) + (hash & 0xffff)) % shardCount;
}

/**
 * Where a line of the order hashed `hash` goes in a part: the buffer of its shard's bucket, the
 * buckets of a shard side by side (`shard << bucketBits | bucket`). A bucket is the hash's top
 * `bucketBits` bits: the buckets of 2^b buckets nest in those of fewer (bucket k of 2^(b-1) is
 * buckets 2k and 2k+1 of 2^b), and with a power-of-two shard count (the low bits) they are
 * independent of the shard.
 */
export function slotOfHash(hash: number, shardCount: number, bucketBits: number): number {
  const shard = shardOfHash(hash, shardCount);
  return bucketBits === 0 ? shard : (shard << bucketBits) | (hash >>> (32 - bucketBits));
}

/** decimal(18,2): at most 16 digits before the decimal point (as `MAX_INTEGER_DIGITS`). */
const MAX_UNITS = 16;

/**
 * The ISO date of `DD/MM/YYYY` or `YYYY-MM-DD` at bytes [s, e), written at `out[at]` (10 bytes);
 * returns YYYYMMDD as a number (same order as the ISO strings), or -1 where `parseData` fails.
 */
export function parseDataBytes(src: Uint8Array, s: number, e: number, out: Uint8Array, at: number): number {
  if (e - s !== 10) return -1;
  let year: number;
  let month: number;
  let day: number;
  if (src[s + 4] === MINUS && src[s + 7] === MINUS) {
    year = digits(src, s, 4);
    month = digits(src, s + 5, 2);
    day = digits(src, s + 8, 2);
    if (year < 0 || month < 0 || day < 0) return -1;
    for (let k = 0; k < 10; k++) out[at + k] = src[s + k]!;
  } else if (src[s + 2] === SLASH && src[s + 5] === SLASH) {
    day = digits(src, s, 2);
    month = digits(src, s + 3, 2);
    year = digits(src, s + 6, 4);
    if (year < 0 || month < 0 || day < 0) return -1;
    for (let k = 0; k < 4; k++) out[at + k] = src[s + 6 + k]!;
    out[at + 4] = MINUS;
    out[at + 5] = src[s + 3]!;
    out[at + 6] = src[s + 4]!;
    out[at + 7] = MINUS;
    out[at + 8] = src[s]!;
    out[at + 9] = src[s + 1]!;
  } else return -1;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return -1;
  return year * 10000 + month * 100 + day;
}

/** YYYYMMDD of an ISO date string. */
export function dataKeyOf(iso: string): number {
  return Number(iso.slice(0, 4)) * 10000 + Number(iso.slice(5, 7)) * 100 + Number(iso.slice(8, 10));
}

/** The ISO date string of a YYYYMMDD number. */
export function dataOfKey(key: number): string {
  const text = String(key).padStart(8, '0');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

function digits(src: Uint8Array, start: number, length: number): number {
  let value = 0;
  for (let k = start; k < start + length; k++) {
    const d = src[k]! - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `parseValor` on bytes [s, e) (already trimmed): writes the canonical valor at `out[at]` and
 * returns the index past it, or -1 where `parseValor` rejects. `scratch` holds the digits.
 */
export function parseValorBytes(
  src: Uint8Array,
  s: number,
  e: number,
  out: Uint8Array,
  at: number,
  scratch: Uint8Array,
): number {
  if (e === s) return -1;
  let i = s;
  let negative = false;
  if (src[s] === MINUS) {
    negative = true;
    i = s + 1;
  }
  let dots = 0;
  let commas = 0;
  let lastSep = -1;
  let digitCount = 0;
  let previousWasDigit = false;
  for (let j = i; j < e; j++) {
    const c = src[j]!;
    if (c >= 48 && c <= 57) {
      digitCount++;
      previousWasDigit = true;
      continue;
    }
    if (c !== DOT && c !== COMMA) return -1;
    if (!previousWasDigit || j === e - 1) return -1;
    previousWasDigit = false;
    if (c === DOT) dots++;
    else commas++;
    lastSep = j;
  }
  if (digitCount === 0) return -1;
  const decimalAt = (dots > 0 && commas > 0) || dots + commas === 1 ? lastSep : -1;
  const intEnd = decimalAt === -1 ? e : decimalAt;
  // scratch[1..]: integer digits without leading zeros ("0" when all zero), then 2 cents digits;
  // scratch[0] stays free for a carry out of the rounding.
  let n = 1;
  let leading = true;
  for (let j = i; j < intEnd; j++) {
    const c = src[j]!;
    if (c < 48 || c > 57) continue;
    if (leading && c === 48) continue;
    leading = false;
    scratch[n++] = c;
  }
  if (n === 1) scratch[n++] = 48;
  const unitsEnd = n;
  let fracCount = 0;
  let decider = -1;
  let restNonZero = false;
  if (decimalAt !== -1) {
    for (let j = decimalAt + 1; j < e; j++) {
      const c = src[j]!;
      if (c < 48 || c > 57) continue;
      if (fracCount < 2) scratch[n++] = c;
      else if (fracCount === 2) decider = c - 48;
      else if (c !== 48) restNonZero = true;
      fracCount++;
    }
  }
  while (n < unitsEnd + 2) scratch[n++] = 48;
  let first = 1;
  if (decider !== -1) {
    const lastKeptOdd = (scratch[n - 1]! - 48) % 2 === 1;
    if (decider > 5 || (decider === 5 && (restNonZero || lastKeptOdd))) {
      let k = n - 1;
      while (k >= 1 && scratch[k] === 57) {
        scratch[k] = 48;
        k--;
      }
      if (k >= 1) scratch[k]!++;
      else {
        scratch[0] = 49;
        first = 0;
      }
    }
  }
  // Units after rounding: "0.99" + carry gives "1.00"; a leading zero unit can only be the "0".
  let unitsStart = first;
  const unitsStop = n - 2;
  while (unitsStart < unitsStop - 1 && scratch[unitsStart] === 48) unitsStart++;
  if (unitsStop - unitsStart > MAX_UNITS) return -1;
  let zero = true;
  for (let k = unitsStart; k < n; k++) {
    if (scratch[k] !== 48) {
      zero = false;
      break;
    }
  }
  if (negative && !zero) out[at++] = MINUS;
  for (let k = unitsStart; k < unitsStop; k++) out[at++] = scratch[k]!;
  out[at++] = DOT;
  out[at++] = scratch[n - 2]!;
  out[at++] = scratch[n - 1]!;
  return at;
}

/**
 * What NFC makes of the ASCII character `letter` followed by the one character `mark`
 * (U+0300–U+037F) alone (no other mark around): the precomposed character as `length << 24 |
 * UTF-8 bytes` (e.g. "u" + U+0301 → "ú", "=" + U+0338 → "≠"), -1 when the pair is already NFC
 * (no precomposed form), or 0 when NFC changes it otherwise (U+0374, U+037E…): the general path
 * decides. Asked of String.prototype.normalize once per pair, then remembered.
 */
export function composeMark(letter: number, mark: number): number {
  const index = letter * 128 + (mark - 0x300);
  let known = COMPOSED[index]!;
  if (known === UNKNOWN) {
    const pair = String.fromCharCode(letter, mark);
    const nfc = pair.normalize('NFC');
    if (nfc === pair) known = -1;
    else if (nfc.length === 1 && mark < 0x370) {
      const bytes = Buffer.from(nfc, 'utf8');
      let packed = 0;
      for (const byte of bytes) packed = (packed << 8) | byte;
      known = (bytes.length << 24) | packed;
    } else known = 0;
    COMPOSED[index] = known;
  }
  return known;
}

/** ASCII characters the shard format escapes (two bytes out): never composed in place. */
const ESCAPED = new Uint8Array(128);
ESCAPED[TAB] = 1;
ESCAPED[CR] = 1;
ESCAPED[BACKSLASH] = 1;
const UNKNOWN = 0x7fffffff;
/** composeMark's answers, by letter × mark; UNKNOWN until asked. */
const COMPOSED = new Int32Array(128 * 128).fill(UNKNOWN);

/** Field escapes of the shard format (`@recon/contracts` shard-format), on a real string. */
function escapeText(value: string): string {
  if (!/[\t\n\r\\]/.test(value)) return value;
  return value.replace(/[\t\n\r\\]/g, (c) =>
    c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\\\',
  );
}

/**
 * Where encoded lines go: one growable byte buffer per shard, or per bucket of a shard (the
 * partition's `ShardWriter`), addressed by `slotOfHash`.
 */
export interface ShardSink {
  readonly shardCount: number;
  /** Each shard's lines are kept in 2^bucketBits buckets (`slotOfHash`); 0: one per shard. */
  readonly bucketBits: number;
  /** The buffer of `slot`, grown when needed so that index `need - 1` exists (content kept). */
  room(slot: number, need: number): Buffer;
  /** Bytes already in `slot`. */
  lengthOf(slot: number): number;
  /** `slot` now holds `length` bytes (the line just written after the old length). */
  commit(slot: number, length: number): void;
}

/**
 * Encodes records of one file (given its column order) as shard-format lines (the bytes
 * `encodeShardRecord` + UTF-8 would give), from the raw bytes of one unquoted line, straight
 * into the shard's buffer.
 */
export class FastRecordEncoder {
  /** The last `data` as YYYYMMDD. */
  dataKey = 0;
  private out: Buffer = Buffer.alloc(0);
  private sink: ShardSink | null = null;
  private shard = 0;
  private readonly starts = new Int32Array(6);
  private readonly ends = new Int32Array(6);
  private readonly order: Int32Array;
  private scratch = new Uint8Array(64);
  /** The fields of a quoted line, unquoted. */
  private unquoted: Buffer = Buffer.allocUnsafe(256);
  /** An upper bound of the bytes of a line being encoded, apart from normalized text. */
  private tail = 0;

  constructor(columnOrder: readonly number[]) {
    this.order = Int32Array.from(columnOrder);
  }

  /**
   * Bytes [start, end) of `src` hold one record's line (no LF; a CR before the LF removed).
   * Appends its shard line to `sink` and returns true, or returns false (nothing written) for
   * the general path — always for a quoted field that goes on past the line.
   */
  encode(src: Buffer, start: number, end: number, linha: number, sink: ShardSink): boolean {
    const starts = this.starts;
    const ends = this.ends;
    let f = 0;
    let fieldStart = start;
    // Whether any byte may need escaping or NFC work; most lines need neither.
    let special = false;
    for (let i = start; i < end; i++) {
      const kind = BYTE_KIND[src[i]!]!;
      if (kind === PLAIN) continue;
      if (kind === SEPARATOR) {
        if (f === 5) return false;
        starts[f] = fieldStart;
        ends[f] = i;
        f++;
        fieldStart = i + 1;
      } else if (kind === SPECIAL) special = true;
      else return this.encodeQuoted(src, start, src[end] === CR ? end + 1 : end, linha, sink);
    }
    if (f !== 5) return false;
    starts[5] = fieldStart;
    ends[5] = end;
    return this.encodeFieldsAt(src, special, end - start, linha, sink);
  }

  /**
   * A PostgreSQL COPY text line at bytes [start, end) of `src` (no LF): six fields separated by
   * tabs, in the encoder's column order. Encoded exactly as `encode` encodes the same fields of a
   * CSV line (trimmed, validated, normalized), returning true; or false, nothing written, for the
   * caller's general path: a backslash (an escape, or `\N` for NULL), another field count, or
   * a field `encode` would refuse too.
   */
  encodeTabbed(src: Buffer, start: number, end: number, linha: number, sink: ShardSink): boolean {
    const starts = this.starts;
    const ends = this.ends;
    let f = 0;
    let fieldStart = start;
    let special = false;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c === TAB) {
        if (f === 5) return false;
        starts[f] = fieldStart;
        ends[f] = i;
        f++;
        fieldStart = i + 1;
      } else if (c === BACKSLASH) return false;
      else if (c < SPACE || c >= 0xcc) special = true;
    }
    if (f !== 5) return false;
    starts[5] = fieldStart;
    ends[5] = end;
    return this.encodeFieldsAt(src, special, end - start, linha, sink);
  }

  /**
   * A line with a double quote, up to its LF (`stop`, CR included): its fields unquoted into a
   * scratch buffer exactly as `scanRecords` reads them (RFC 4180 quotes opening a field after
   * blanks, `""` inside, blanks after the closing quote dropped, a CR ending the last field
   * dropped), then encoded as any line. A quote still open at the end of the line is a field
   * that goes on: the general path reads it.
   */
  private encodeQuoted(src: Buffer, start: number, stop: number, linha: number, sink: ShardSink): boolean {
    if (this.unquoted.length < stop - start) this.unquoted = Buffer.allocUnsafe(2 * (stop - start));
    const out = this.unquoted;
    const starts = this.starts;
    const ends = this.ends;
    let n = 0;
    let f = 0;
    let fieldStart = 0;
    let inQuotes = false;
    let afterQuote = false;
    let fieldBlank = true;
    let special = false;
    for (let i = start; i < stop; i++) {
      const c = src[i]!;
      if (inQuotes) {
        if (c === QUOTE) {
          if (i + 1 < stop && src[i + 1] === QUOTE) {
            out[n++] = QUOTE;
            i++;
          } else {
            inQuotes = false;
            afterQuote = true;
          }
        } else {
          out[n++] = c;
          if (BYTE_KIND[c] === SPECIAL) special = true;
        }
      } else if (c === SEMI) {
        if (f === 5) return false;
        starts[f] = fieldStart;
        ends[f] = n;
        f++;
        fieldStart = n;
        afterQuote = false;
        fieldBlank = true;
      } else if (c === QUOTE && !afterQuote && fieldBlank) {
        // An opening quote: the blanks before it are not part of the field.
        n = fieldStart;
        inQuotes = true;
      } else if (!(afterQuote && (c === SPACE || c === TAB || c === CR))) {
        out[n++] = c;
        if (c !== SPACE && c !== TAB) fieldBlank = false;
        if (BYTE_KIND[c] === SPECIAL) special = true;
      }
    }
    if (inQuotes || f !== 5) return false;
    if (n > fieldStart && out[n - 1] === CR) n--;
    starts[5] = fieldStart;
    ends[5] = n;
    return this.encodeFieldsAt(out, special, n, linha, sink);
  }

  /**
   * The record whose six raw fields are at `starts`/`ends` of `src` (`textBytes` bounds their
   * total size): trimmed, validated, normalized and written as a shard line, or false.
   */
  private encodeFieldsAt(
    src: Buffer,
    special: boolean,
    textBytes: number,
    linha: number,
    sink: ShardSink,
  ): boolean {
    const starts = this.starts;
    const ends = this.ends;
    for (let k = 0; k < 6; k++) {
      let s = starts[k]!;
      let e = ends[k]!;
      while (s < e && (src[s] === SPACE || src[s] === TAB)) s++;
      while (e > s && (src[e - 1] === SPACE || src[e - 1] === TAB)) e--;
      starts[k] = s;
      ends[k] = e;
    }
    const order = this.order;
    const os = starts[order[1]!]!;
    const oe = ends[order[1]!]!;
    if (os === oe) return false;
    let h = 0x811c9dc5;
    for (let i = os; i < oe; i++) {
      const c = src[i]!;
      // A non-ASCII ordem_id hashes over UTF-16 units after NFC: the general path does that.
      if (c >= 0x80) return false;
      h ^= c;
      h = Math.imul(h, 0x01000193);
    }
    const vs = starts[order[5]!]!;
    const ve = ends[order[5]!]!;
    if (ve - vs + 8 > this.scratch.length) this.scratch = new Uint8Array(2 * (ve - vs) + 8);
    const shard = slotOfHash(h, sink.shardCount, sink.bucketBits);
    const lineStart = sink.lengthOf(shard);

    // The line is written past the shard's length; only `commit` keeps it, so a data or valor
    // found invalid at the end (the general path then) leaves nothing. Escapes at most double a
    // text field; a canonical valor is at most 3 bytes longer than its raw text ("5" → "5.00");
    // 32 covers linha, tabs, data and the newline.
    this.tail = 2 * textBytes + (ve - vs) + 3 + 32;
    this.sink = sink;
    this.shard = shard;
    this.out = sink.room(shard, lineStart + this.tail);
    let at = writeInt(this.out, lineStart, linha);
    this.out[at++] = TAB;
    if (special) {
      // text() may replace `out` (a field that grows under NFC), so it is read again after each.
      at = this.text(src, os, oe, at);
      this.out[at++] = TAB;
      at = this.text(src, starts[order[0]!]!, ends[order[0]!]!, at);
      this.out[at++] = TAB;
      at = this.text(src, starts[order[2]!]!, ends[order[2]!]!, at);
      this.out[at++] = TAB;
      at = this.text(src, starts[order[3]!]!, ends[order[3]!]!, at);
    } else {
      const o = this.out;
      for (let i = os; i < oe; i++) o[at++] = src[i]!;
      o[at++] = TAB;
      for (let i = starts[order[0]!]!, e = ends[order[0]!]!; i < e; i++) o[at++] = src[i]!;
      o[at++] = TAB;
      for (let i = starts[order[2]!]!, e = ends[order[2]!]!; i < e; i++) o[at++] = src[i]!;
      o[at++] = TAB;
      for (let i = starts[order[3]!]!, e = ends[order[3]!]!; i < e; i++) o[at++] = src[i]!;
    }
    const out = this.out;
    out[at++] = TAB;
    const dataKey = parseDataBytes(src, starts[order[4]!]!, ends[order[4]!]!, out, at);
    if (dataKey < 0) return false;
    at += 10;
    out[at++] = TAB;
    at = parseValorBytes(src, vs, ve, out, at, this.scratch);
    if (at < 0) return false;
    out[at++] = LF;
    this.dataKey = dataKey;
    sink.commit(shard, at);
    return true;
  }

  /**
   * One record given as already-split string fields (file order, `null` for a missing value),
   * e.g. a database row: appends its shard line to `sink` and returns true only when every value
   * is already canonical, so that `normalizeRecord` would return it unchanged: text fields without
   * blanks at the edges, tab, CR, LF or backslash, and below U+0300 (NFC is a no-op there; the
   * hash over UTF-16 units is then the one of `shardOf`); a non-empty `ordem_id`; `data` as a
   * valid `YYYY-MM-DD`; `valor` as `-?D+.DD` with no leading zero, at most 16 integer digits and
   * no negative zero (numeric::text of a decimal(18,2)). Otherwise returns false, nothing written,
   * and the caller takes the general path. One pass per field checks and writes at once: bytes
   * past the shard's length are only kept by `commit`.
   */
  encodeFields(fields: readonly (string | null)[], linha: number, sink: ShardSink): boolean {
    const order = this.order;
    const ordemId = fields[order[1]!];
    const fornecedor = fields[order[0]!];
    const nome = fields[order[2]!];
    const ativo = fields[order[3]!];
    const data = fields[order[4]!];
    const valor = fields[order[5]!];
    if (
      ordemId == null ||
      fornecedor == null ||
      nome == null ||
      ativo == null ||
      data == null ||
      valor == null ||
      ordemId.length === 0 ||
      data.length !== 10
    )
      return false;
    let h = 0x811c9dc5;
    for (let k = 0; k < ordemId.length; k++) {
      h ^= ordemId.charCodeAt(k);
      h = Math.imul(h, 0x01000193);
    }
    const shard = slotOfHash(h, sink.shardCount, sink.bucketBits);
    const lineStart = sink.lengthOf(shard);
    // Text below U+0300 takes at most 2 UTF-8 bytes per unit; 40 covers linha, tabs and LF.
    const need =
      lineStart + 2 * (ordemId.length + fornecedor.length + nome.length + ativo.length) + valor.length + 40;
    const out = sink.room(shard, need);
    let at = writeInt(out, lineStart, linha);
    out[at++] = TAB;
    at = plainText(ordemId, out, at);
    if (at < 0) return false;
    out[at++] = TAB;
    at = plainText(fornecedor, out, at);
    if (at < 0) return false;
    out[at++] = TAB;
    at = plainText(nome, out, at);
    if (at < 0) return false;
    out[at++] = TAB;
    at = plainText(ativo, out, at);
    if (at < 0) return false;
    out[at++] = TAB;
    const dataKey = isoDataKey(data);
    if (dataKey < 0) return false;
    for (let k = 0; k < 10; k++) out[at++] = data.charCodeAt(k);
    out[at++] = TAB;
    at = canonicalValor(valor, out, at);
    if (at < 0) return false;
    out[at++] = LF;
    this.dataKey = dataKey;
    sink.commit(shard, at);
    return true;
  }

  /**
   * A text field, trimmed, NFC and escaped. Code points below U+0300 (UTF-8 lead bytes up to
   * 0xCB) are NFC in any combination (no decompositions, no combining classes), so such bytes
   * are copied; anything else is decoded and normalized like `normalizeText`.
   */
  private text(src: Buffer, s: number, e: number, at: number): number {
    const out = this.out;
    const from = at;
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      if (c < 0x80) {
        if (c === TAB || c === BACKSLASH || c === CR) {
          out[at++] = BACKSLASH;
          out[at++] = c === TAB ? 116 : c === CR ? 114 : BACKSLASH;
        } else out[at++] = c;
      } else if (c < 0xc0 || c <= 0xcb) out[at++] = c;
      else if (c <= 0xcd && i > s && i + 1 < e && src[i - 1]! < 0x80 && !ESCAPED[src[i - 1]!]) {
        // A letter written decomposed (e.g. "u" + U+0301, as in NFD exports): see composeMark. Any
        // character after the pair that could change it (a mark, anything from U+0300 on) is
        // not copied by this loop: the whole field then takes the general path.
        const composed = composeMark(src[i - 1]!, ((c & 0x1f) << 6) | (src[i + 1]! & 0x3f));
        if (composed === 0) return this.normalizedText(src, s, e, from);
        if (composed > 0) {
          // The letter is replaced by the precomposed one (2 or 3 UTF-8 bytes, never escaped).
          at--;
          for (let k = composed >>> 24; k > 0; k--) out[at++] = (composed >>> (8 * (k - 1))) & 0xff;
        } else {
          out[at++] = c;
          out[at++] = src[i + 1]!;
        }
        i++;
      } else return this.normalizedText(src, s, e, from);
    }
    return at;
  }

  private normalizedText(src: Buffer, s: number, e: number, at: number): number {
    const value = escapeText(src.toString('utf8', s, e).normalize('NFC'));
    // Room for this field as UTF-8 plus the rest of the line.
    this.out = this.sink!.room(this.shard, at + 3 * value.length + this.tail);
    return at + this.out.write(value, at, 'utf8');
  }
}

/**
 * Writes `value` as UTF-8 at `out[at]` and returns the index past it, or -1 when it is not
 * already normalized and plain (see `encodeFields`).
 */
function plainText(value: string, out: Uint8Array, at: number): number {
  const n = value.length;
  if (n === 0) return at;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === SPACE || first === TAB || last === SPACE || last === TAB) return -1;
  for (let k = 0; k < n; k++) {
    const c = value.charCodeAt(k);
    if (c < 0x80) {
      if (c === TAB || c === LF || c === CR || c === BACKSLASH) return -1;
      out[at++] = c;
    } else if (c < 0x300) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else return -1;
  }
  return at;
}

/** YYYYMMDD of a valid `YYYY-MM-DD` string of length 10, or -1 (as `parseData`). */
function isoDataKey(s: string): number {
  if (s.charCodeAt(4) !== MINUS || s.charCodeAt(7) !== MINUS) return -1;
  let year = 0;
  for (let k = 0; k < 4; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    year = year * 10 + d;
  }
  const m1 = s.charCodeAt(5) - 48;
  const m2 = s.charCodeAt(6) - 48;
  const d1 = s.charCodeAt(8) - 48;
  const d2 = s.charCodeAt(9) - 48;
  if (m1 < 0 || m1 > 9 || m2 < 0 || m2 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  const month = m1 * 10 + m2;
  const day = d1 * 10 + d2;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return -1;
  return year * 10000 + month * 100 + day;
}

/**
 * Writes a valor already in canonical form (`-?D+.DD`, no leading zero, at most 16 integer
 * digits, not `-0.00`) at `out[at]`; returns the index past it, or -1 for any other shape.
 */
function canonicalValor(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  const start = n > 0 && s.charCodeAt(0) === MINUS ? 1 : 0;
  const units = n - 3 - start;
  if (units < 1 || units > MAX_UNITS || s.charCodeAt(n - 3) !== DOT) return -1;
  if (units > 1 && s.charCodeAt(start) === 48) return -1;
  let nonZero = false;
  if (start === 1) out[at++] = MINUS;
  for (let k = start; k < n; k++) {
    if (k === n - 3) {
      out[at++] = DOT;
      continue;
    }
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return -1;
    if (c !== 48) nonZero = true;
    out[at++] = c;
  }
  if (start === 1 && !nonZero) return -1;
  return at;
}

/** `String(value)` for a non-negative integer, as bytes, without making the string. */
function writeInt(out: Uint8Array, at: number, value: number): number {
  if (value > 0x7fffffff) {
    const text = String(value);
    for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
    return at + text.length;
  }
  let digits = 1;
  for (let v = value; v >= 10; v = (v / 10) | 0) digits++;
  let v = value;
  for (let k = at + digits - 1; k >= at; k--) {
    const q = (v / 10) | 0;
    out[k] = 48 + v - q * 10;
    v = q;
  }
  return at + digits;
}

/**
 * Lines taken in bulk by `scanRecordBytes`'s caller (the WebAssembly encoder, `encodeRecordBlock`):
 * `run(pos, line)` writes the records of the lines from byte `pos` (physical line `line`) on, up
 * to a line it does not take, and sets `pos`, `lines` and `records` to where it stopped, the lines
 * it consumed and the records it wrote. Once `declines` is true, it is offered no more lines.
 */
export interface BulkLines {
  run(pos: number, line: number): void;
  pos: number;
  lines: number;
  records: number;
  declines: boolean;
}

/**
 * `scanRecords` over UTF-8 bytes (a block of whole records). Each non-blank line is first offered
 * to `onLine(start, end, linha)` (its byte range without the line break and a CR before it), quoted
 * or not; when it returns false (as it must for a quoted field going on past the line), the
 * record's bytes are decoded and go through `scanRecords`, so `onRecord` sees exactly what
 * `scanRecords` on the decoded text would give. With `bulk`, the lines are first offered to it,
 * and only the line it stops at goes the way above.
 */
export function scanRecordBytes(
  bytes: Buffer,
  firstLine: number,
  onLine: (start: number, end: number, linha: number) => boolean,
  onRecord: OnRecord,
  bulk?: BulkLines,
): ScanResult {
  // Delimiters are ASCII, never part of a UTF-8 character: Buffer.indexOf finds them natively.
  const n = bytes.length;
  let pos = 0;
  let line = firstLine;
  let records = 0;
  let nextQuote = bytes.indexOf(QUOTE);
  let offer = bulk;
  while (pos < n) {
    if (offer !== undefined) {
      offer.run(pos, line);
      records += offer.records;
      line += offer.lines;
      pos = offer.pos;
      if (offer.declines) offer = undefined;
      if (pos >= n) break;
    }
    let nl = bytes.indexOf(LF, pos);
    if (nl === -1) nl = n;
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = bytes.indexOf(QUOTE, pos);
    const end = nl > pos && bytes[nl - 1] === CR ? nl - 1 : nl;
    if (nextQuote === -1 || nextQuote >= nl) {
      if (!isBlankBytes(bytes, pos, end)) {
        records++;
        if (!onLine(pos, end, line)) {
          scanRecords(bytes.toString('utf8', pos, Math.min(nl + 1, n)), line, true, onRecord);
        }
      }
      line++;
      pos = nl + 1;
      continue;
    }
    // A quoted record, most often on this one line.
    if (onLine(pos, end, line)) {
      records++;
      line++;
      pos = nl + 1;
      continue;
    }
    const recordEnd = quotedRecordEndBytes(bytes, pos);
    const stop = recordEnd === -1 ? n : Math.min(recordEnd + 1, n);
    const scan = scanRecords(bytes.toString('utf8', pos, stop), line, true, onRecord);
    records += scan.records;
    if (scan.unterminatedQuoteLine !== undefined) {
      return {
        end: pos,
        lines: line - firstLine,
        records,
        unterminatedQuoteLine: scan.unterminatedQuoteLine,
      };
    }
    line += scan.lines;
    pos = stop;
  }
  return { end: Math.min(pos, n), lines: line - firstLine, records };
}
