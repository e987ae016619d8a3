// AssemblyScript (https://www.assemblyscript.org), compiled to WebAssembly by `pnpm build:wasm`
// (scripts/wasm) into ../src/wasm/record-encoder.wasm.ts.
//
// The partition's fast path (`FastRecordEncoder.encode`, ../src/fast-record.ts) over a whole block
// of CSV lines (or `encodeTabbed` over PostgreSQL's COPY text, S_MODE): each line is split, trimmed, validated, normalized and written as a shard line into
// its slot's region, exactly as the TypeScript encoder writes it. A line this code does not take
// (a double-quoted field going on past the line, a character from U+0380 on, a field count
// other than six, an empty or non-ASCII ordem_id, a bad data or valor, a blank line, a line too
// long for a region) stops the run: the caller (../src/wasm-record.ts) takes that one line through
// the TypeScript paths and runs this again from the next one. Nothing here allocates.
//
// Memory (byte offsets; the caller lays out the slots' regions and the block from LAYOUT_END on):
//   KIND       256 bytes: what each byte is to the field split
//   STATE      32 int32s: the run's inputs and outputs (S_* below)
//   ORDER      6 int32s: the file's column of each canonical field
//   BOUNDS     12 int32s: the fields' starts and ends
//   SCRATCH    256 bytes: the digits of a valor
//   COMPOSED   128 × 128 int32s: NFC of an ASCII letter + a mark U+0300–U+037F (see composeMark
//              in ../src/fast-record.ts), filled in by the caller when a run asks (RUN_NEED_PAIR)
//   UNQUOTED   16 KiB: the fields of a line with double quotes, unquoted
//   KIND_COPY  256 bytes: KIND for PostgreSQL's COPY text (S_MODE 1)

const KIND: i32 = 0;
const STATE: i32 = 256;
const ORDER: i32 = 384;
const STARTS: i32 = 416;
const ENDS: i32 = 448;
const SCRATCH: i32 = 512;
const COMPOSED: i32 = 1024;
const UNQUOTED: i32 = COMPOSED + 128 * 128 * 4;
/** Longest line with a double quote taken here (UNQUOTED holds its fields, unquoted). */
const UNQUOTED_BYTES: i32 = 16384;
const KIND_COPY: i32 = UNQUOTED + UNQUOTED_BYTES;
export const LAYOUT_END: i32 = KIND_COPY + 256;

// STATE fields (int32 indexes).
const S_POS = 0; // in/out: where the next line starts
const S_LINHA = 1; // in/out: its physical line number
const S_END = 2; // in: the block's end
const S_RECORDS = 3; // out: records written by this run
const S_MIN_KEY = 4; // in/out: the least data (YYYYMMDD) written
const S_MAX_KEY = 5; // in/out: the greatest
const S_SHARDS = 6; // in: shard count
const S_BUCKET_BITS = 7; // in: buckets per shard, as bits
const S_LENGTHS = 8; // in: where the slots' int32 lengths are
const S_REGIONS = 9; // in: where the slots' regions start
const S_REGION = 10; // in: bytes per region
const S_FULL_SLOT = 11; // out: the slot without room (RUN_SLOT_FULL)
const S_PAIR = 12; // out: letter * 128 + (mark - 0x300) (RUN_NEED_PAIR)
const S_NEXT = 13; // where the line after the one just written starts
const S_LIMIT = 14; // in: no line starting at or after this is begun (RUN_PAUSED)
/**
 * in: 0, CSV lines (`FastRecordEncoder.encode`); 1, the rows of PostgreSQL's COPY text, tab
 * separated, a backslash refused (an escape or NULL), every line numbered S_LINHA
 * (`FastRecordEncoder.encodeTabbed`; the caller sends whole lines).
 */
const S_MODE = 15;

/** The block is done (S_POS is past its end). */
const RUN_DONE = 0;
/** The line at S_POS is not taken here. */
const RUN_REFUSED = 1;
/** The line at S_POS goes to slot S_FULL_SLOT, whose region lacks room: empty it and run again. */
const RUN_SLOT_FULL = 2;
/** The line at S_POS has a letter + mark pair not yet in COMPOSED (S_PAIR): fill it and run again. */
const RUN_NEED_PAIR = 3;
/**
 * The run reached S_LIMIT: run again (with a later limit). A run is one call, and V8 only moves a
 * call to the optimized code it compiled meanwhile at the next call: short runs let the first
 * block of a cold thread reach it early.
 */
const RUN_PAUSED = 4;

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const COMMA = 44;
const SEMI = 59;
const BACKSLASH = 92;

const PLAIN: u8 = 0;
/** Needs a look (escaped, or NFC): a control character, a backslash, or 0xCC and up. */
const SPECIAL: u8 = 1;
const SEPARATOR: u8 = 2;
const LINE_END: u8 = 3;
const QUOTED: u8 = 4;
/** Not taken here. */
const REFUSE: u8 = 5;

const UNKNOWN = 0x7fffffff;
const MAX_UNITS = 16;
/** Longest valor taken here (SCRATCH holds its digits). */
const MAX_VALOR = 200;

function state(field: i32): i32 {
  return load<i32>(STATE + (field << 2));
}

function setState(field: i32, value: i32): void {
  store<i32>(STATE + (field << 2), value);
}

/** Fills the tables that do not depend on a block. */
export function init(): void {
  for (let c = 0; c < 256; c++) {
    let kind = PLAIN;
    if (c === SEMI) kind = SEPARATOR;
    else if (c === LF) kind = LINE_END;
    else if (c === QUOTE) kind = QUOTED;
    else if (c < SPACE || c === BACKSLASH || c >= 0xcc) kind = SPECIAL;
    store<u8>(KIND + c, kind);
    let copyKind = PLAIN;
    if (c === TAB) copyKind = SEPARATOR;
    else if (c === LF) copyKind = LINE_END;
    else if (c === BACKSLASH) copyKind = REFUSE;
    else if (c < SPACE || c >= 0xcc) copyKind = SPECIAL;
    store<u8>(KIND_COPY + c, copyKind);
  }
  for (let k = 0; k < 128 * 128; k++) store<i32>(COMPOSED + (k << 2), UNKNOWN);
}

function fieldStart(k: i32): i32 {
  return load<i32>(STARTS + (k << 2));
}

function fieldEnd(k: i32): i32 {
  return load<i32>(ENDS + (k << 2));
}

/** The file column of canonical field k. */
function column(k: i32): i32 {
  return load<i32>(ORDER + (k << 2));
}

/**
 * Encodes lines from S_POS until the block's end (RUN_DONE) or a line it stops at (S_POS is then
 * that line's start, S_LINHA its number).
 */
export function run(): i32 {
  let pos = state(S_POS);
  let linha = state(S_LINHA);
  const end = state(S_END);
  const limit = state(S_LIMIT);
  const csv = state(S_MODE) === 0;
  let records = 0;
  let status = RUN_DONE;
  while (pos < end) {
    if (pos >= limit) {
      status = RUN_PAUSED;
      break;
    }
    status = encodeLine(pos, end, linha, csv);
    if (status !== RUN_DONE) break;
    records++;
    if (csv) linha++;
    pos = state(S_NEXT);
  }
  setState(S_POS, pos);
  setState(S_LINHA, linha);
  setState(S_RECORDS, records);
  return status;
}

/**
 * The line from `start` (up to its line break, or the block's end; a CR before either dropped),
 * split at its separators in the same pass: written to its slot (RUN_DONE, S_NEXT the next
 * line's start), or a reason to stop.
 */
function encodeLine(start: i32, blockEnd: i32, linha: i32, csv: bool): i32 {
  const kinds = csv ? KIND : KIND_COPY;
  let f = 0;
  let from = start;
  let special = false;
  let end = blockEnd;
  let next = blockEnd + 1;
  for (let i = start; i < blockEnd; i++) {
    const c = load<u8>(i);
    const kind = load<u8>(kinds + c);
    if (kind === PLAIN) continue;
    if (kind === SEPARATOR) {
      if (f === 5) return RUN_REFUSED;
      store<i32>(STARTS + (f << 2), from);
      store<i32>(ENDS + (f << 2), i);
      f++;
      from = i + 1;
    } else if (kind === LINE_END) {
      end = i;
      next = i + 1;
      break;
    } else if (kind === QUOTED) return encodeQuoted(start, blockEnd, linha);
    else if (kind === REFUSE) return RUN_REFUSED;
    else if (csv && c === CR && (i + 1 === blockEnd || load<u8>(i + 1) === LF)) {
      end = i;
      next = i + 2;
      break;
    } else special = true;
  }
  if (f !== 5) return RUN_REFUSED;
  store<i32>(STARTS + 20, from);
  store<i32>(ENDS + 20, end);
  return encodeFields(special, end - start, linha, next);
}

/**
 * A line with a double quote (from `start` to its line break or the block's end, a CR included):
 * its fields unquoted into UNQUOTED as `FastRecordEncoder.encodeQuoted` reads them (RFC 4180
 * quotes opening a field after blanks, `""` inside, blanks after the closing quote dropped, a CR
 * ending the last field dropped), then encoded as any line. Refused when a quote is still open
 * at the end of the line (a field going on: the general path), or a field holds a control
 * character or a backslash (escaped by the TypeScript encoder).
 */
function encodeQuoted(start: i32, blockEnd: i32, linha: i32): i32 {
  let stop = start;
  while (stop < blockEnd && load<u8>(stop) !== LF) stop++;
  if (stop - start > UNQUOTED_BYTES) return RUN_REFUSED;
  const next = stop + 1;
  let n = UNQUOTED;
  let f = 0;
  let from = UNQUOTED;
  let inQuotes = false;
  let afterQuote = false;
  let fieldBlank = true;
  for (let i = start; i < stop; i++) {
    const c = load<u8>(i);
    if (inQuotes) {
      if (c === QUOTE) {
        if (i + 1 < stop && load<u8>(i + 1) === QUOTE) {
          store<u8>(n++, QUOTE);
          i++;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else store<u8>(n++, c);
    } else if (c === SEMI) {
      if (f === 5) return RUN_REFUSED;
      store<i32>(STARTS + (f << 2), from);
      store<i32>(ENDS + (f << 2), n);
      f++;
      from = n;
      afterQuote = false;
      fieldBlank = true;
    } else if (c === QUOTE && !afterQuote && fieldBlank) {
      // An opening quote: the blanks before it are not part of the field.
      n = from;
      inQuotes = true;
    } else if (!(afterQuote && (c === SPACE || c === TAB || c === CR))) {
      store<u8>(n++, c);
      if (c !== SPACE && c !== TAB) fieldBlank = false;
    }
  }
  if (inQuotes || f !== 5) return RUN_REFUSED;
  if (n > from && load<u8>(n - 1) === CR) n--;
  store<i32>(STARTS + 20, from);
  store<i32>(ENDS + 20, n);
  let special = false;
  for (let k = UNQUOTED; k < n; k++) {
    if (load<u8>(KIND + load<u8>(k)) === SPECIAL) {
      special = true;
      break;
    }
  }
  return encodeFields(special, n - UNQUOTED, linha, next);
}

/**
 * The record whose six raw fields are at STARTS/ENDS (`textBytes` bounds their total size):
 * trimmed, validated, normalized and written to its slot (RUN_DONE, S_NEXT set to `next`), as
 * `FastRecordEncoder`'s `encodeFieldsAt`; or a reason to stop.
 */
function encodeFields(special: bool, textBytes: i32, linha: i32, next: i32): i32 {
  for (let k = 0; k < 6; k++) {
    let s = fieldStart(k);
    let e = fieldEnd(k);
    while (s < e && isBlank(load<u8>(s))) s++;
    while (e > s && isBlank(load<u8>(e - 1))) e--;
    store<i32>(STARTS + (k << 2), s);
    store<i32>(ENDS + (k << 2), e);
  }
  const os = fieldStart(column(1));
  const oe = fieldEnd(column(1));
  if (os === oe) return RUN_REFUSED;
  let h: u32 = 0x811c9dc5;
  for (let i = os; i < oe; i++) {
    const c = load<u8>(i);
    if (c >= 0x80) return RUN_REFUSED;
    h ^= c;
    h *= 0x01000193;
  }
  const vs = fieldStart(column(5));
  const ve = fieldEnd(column(5));
  if (ve - vs > MAX_VALOR) return RUN_REFUSED;
  const shards = <u32>state(S_SHARDS);
  const bucketBits = <u32>state(S_BUCKET_BITS);
  const shard = h % shards;
  const slot = <i32>(bucketBits === 0 ? shard : (shard << bucketBits) | (h >>> (32 - bucketBits)));
  const region = state(S_REGION);
  // As the TypeScript encoder bounds a line: composition never makes text longer.
  const tail = 2 * textBytes + (ve - vs) + 3 + 32;
  if (tail > region) return RUN_REFUSED;
  const lengthAt = state(S_LENGTHS) + (slot << 2);
  const used = load<i32>(lengthAt);
  if (used + tail > region) {
    setState(S_FULL_SLOT, slot);
    return RUN_SLOT_FULL;
  }
  const base = state(S_REGIONS) + slot * region;
  let at = writeInt(base + used, linha);
  store<u8>(at++, TAB);
  if (special) {
    at = text(os, oe, at);
    if (at < 0) return -at;
    store<u8>(at++, TAB);
    at = text(fieldStart(column(0)), fieldEnd(column(0)), at);
    if (at < 0) return -at;
    store<u8>(at++, TAB);
    at = text(fieldStart(column(2)), fieldEnd(column(2)), at);
    if (at < 0) return -at;
    store<u8>(at++, TAB);
    at = text(fieldStart(column(3)), fieldEnd(column(3)), at);
    if (at < 0) return -at;
  } else {
    at = copy(os, oe, at);
    store<u8>(at++, TAB);
    at = copy(fieldStart(column(0)), fieldEnd(column(0)), at);
    store<u8>(at++, TAB);
    at = copy(fieldStart(column(2)), fieldEnd(column(2)), at);
    store<u8>(at++, TAB);
    at = copy(fieldStart(column(3)), fieldEnd(column(3)), at);
  }
  store<u8>(at++, TAB);
  const dataKey = parseData(fieldStart(column(4)), fieldEnd(column(4)), at);
  if (dataKey < 0) return RUN_REFUSED;
  at += 10;
  store<u8>(at++, TAB);
  at = parseValor(vs, ve, at);
  if (at < 0) return RUN_REFUSED;
  store<u8>(at++, LF);
  store<i32>(lengthAt, at - base);
  if (dataKey < state(S_MIN_KEY)) setState(S_MIN_KEY, dataKey);
  if (dataKey > state(S_MAX_KEY)) setState(S_MAX_KEY, dataKey);
  setState(S_NEXT, next);
  return RUN_DONE;
}

function isBlank(c: u8): bool {
  return c === SPACE || c === TAB;
}

/** What the shard format escapes: a tab, a CR or a backslash. */
function isEscaped(c: i32): bool {
  return c === TAB || c === CR || c === BACKSLASH;
}

function copy(s: i32, e: i32, at: i32): i32 {
  const n = e - s;
  memory.copy(at, s, n);
  return at + n;
}

/**
 * A text field as `FastRecordEncoder`'s `text` writes it: escaped (a tab, CR or backslash), a
 * letter written decomposed composed; returns the index past it, or -RUN_REFUSED (a character
 * that NFC may change otherwise: the TypeScript encoder normalizes the field) / -RUN_NEED_PAIR.
 */
function text(s: i32, e: i32, at: i32): i32 {
  for (let i = s; i < e; i++) {
    const c = <i32>load<u8>(i);
    if (c < 0x80) {
      if (isEscaped(c)) {
        store<u8>(at++, BACKSLASH);
        store<u8>(at++, c === TAB ? 116 : c === CR ? 114 : BACKSLASH);
      } else store<u8>(at++, <u8>c);
      continue;
    }
    if (c <= 0xcb) {
      store<u8>(at++, <u8>c);
      continue;
    }
    const previous = i > s ? <i32>load<u8>(i - 1) : 0x80;
    if (c <= 0xcd && i + 1 < e && previous < 0x80 && !isEscaped(previous)) {
      const letter = previous;
      const mark = ((c & 0x1f) << 6) | (<i32>load<u8>(i + 1) & 0x3f);
      const index = letter * 128 + (mark - 0x300);
      const composed = load<i32>(COMPOSED + (index << 2));
      if (composed === UNKNOWN) {
        setState(S_PAIR, index);
        return -RUN_NEED_PAIR;
      }
      if (composed === 0) return -RUN_REFUSED;
      if (composed > 0) {
        at--;
        for (let k = composed >>> 24; k > 0; k--) store<u8>(at++, <u8>((composed >>> (8 * (k - 1))) & 0xff));
      } else {
        store<u8>(at++, <u8>c);
        store<u8>(at++, load<u8>(i + 1));
      }
      i++;
    } else return -RUN_REFUSED;
  }
  return at;
}

/** `value` in decimal at `at`; returns the index past it. */
function writeInt(at: i32, value: i32): i32 {
  let digits = 1;
  for (let v = value; v >= 10; v /= 10) digits++;
  let v = value;
  for (let k = at + digits - 1; k >= at; k--) {
    const q = v / 10;
    store<u8>(k, <u8>(48 + v - q * 10));
    v = q;
  }
  return at + digits;
}

function digits(start: i32, length: i32): i32 {
  let value = 0;
  for (let k = start; k < start + length; k++) {
    const d = <i32>load<u8>(k) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: i32, month: i32): i32 {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** `parseDataBytes` of ../src/fast-record.ts: the ISO date at `out`, YYYYMMDD, or -1. */
function parseData(s: i32, e: i32, out: i32): i32 {
  if (e - s !== 10) return -1;
  let year: i32;
  let month: i32;
  let day: i32;
  if (load<u8>(s + 4) === MINUS && load<u8>(s + 7) === MINUS) {
    year = digits(s, 4);
    month = digits(s + 5, 2);
    day = digits(s + 8, 2);
    if (year < 0 || month < 0 || day < 0) return -1;
    memory.copy(out, s, 10);
  } else if (load<u8>(s + 2) === SLASH && load<u8>(s + 5) === SLASH) {
    day = digits(s, 2);
    month = digits(s + 3, 2);
    year = digits(s + 6, 4);
    if (year < 0 || month < 0 || day < 0) return -1;
    memory.copy(out, s + 6, 4);
    store<u8>(out + 4, MINUS);
    store<u8>(out + 5, load<u8>(s + 3));
    store<u8>(out + 6, load<u8>(s + 4));
    store<u8>(out + 7, MINUS);
    store<u8>(out + 8, load<u8>(s));
    store<u8>(out + 9, load<u8>(s + 1));
  } else return -1;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return -1;
  return year * 10000 + month * 100 + day;
}

/** `parseValorBytes` of ../src/fast-record.ts: the canonical valor at `out`; the index past it, or -1. */
function parseValor(s: i32, e: i32, out: i32): i32 {
  if (e === s) return -1;
  let i = s;
  let negative = false;
  if (load<u8>(s) === MINUS) {
    negative = true;
    i = s + 1;
  }
  let dots = 0;
  let commas = 0;
  let lastSep = -1;
  let digitCount = 0;
  let previousWasDigit = false;
  for (let j = i; j < e; j++) {
    const c = load<u8>(j);
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
  // SCRATCH[1..]: the integer digits without leading zeros ("0" when all zero), then 2 cents
  // digits; SCRATCH[0] is left for a carry out of the rounding.
  let n = 1;
  let leading = true;
  for (let j = i; j < intEnd; j++) {
    const c = load<u8>(j);
    if (c < 48 || c > 57) continue;
    if (leading && c === 48) continue;
    leading = false;
    store<u8>(SCRATCH + n++, c);
  }
  if (n === 1) store<u8>(SCRATCH + n++, 48);
  const unitsEnd = n;
  let fracCount = 0;
  let decider = -1;
  let restNonZero = false;
  if (decimalAt !== -1) {
    for (let j = decimalAt + 1; j < e; j++) {
      const c = load<u8>(j);
      if (c < 48 || c > 57) continue;
      if (fracCount < 2) store<u8>(SCRATCH + n++, c);
      else if (fracCount === 2) decider = <i32>c - 48;
      else if (c !== 48) restNonZero = true;
      fracCount++;
    }
  }
  while (n < unitsEnd + 2) store<u8>(SCRATCH + n++, 48);
  let first = 1;
  if (decider !== -1) {
    const lastKeptOdd = (<i32>load<u8>(SCRATCH + n - 1) - 48) % 2 === 1;
    if (decider > 5 || (decider === 5 && (restNonZero || lastKeptOdd))) {
      let k = n - 1;
      while (k >= 1 && load<u8>(SCRATCH + k) === 57) {
        store<u8>(SCRATCH + k, 48);
        k--;
      }
      if (k >= 1) store<u8>(SCRATCH + k, load<u8>(SCRATCH + k) + 1);
      else {
        store<u8>(SCRATCH, 49);
        first = 0;
      }
    }
  }
  // The units after rounding: "0.99" + carry is "1.00"; a leading zero unit can only be the "0".
  let unitsStart = first;
  const unitsStop = n - 2;
  while (unitsStart < unitsStop - 1 && load<u8>(SCRATCH + unitsStart) === 48) unitsStart++;
  if (unitsStop - unitsStart > MAX_UNITS) return -1;
  let zero = true;
  for (let k = unitsStart; k < n; k++) {
    if (load<u8>(SCRATCH + k) !== 48) {
      zero = false;
      break;
    }
  }
  let at = out;
  if (negative && !zero) store<u8>(at++, MINUS);
  for (let k = unitsStart; k < unitsStop; k++) store<u8>(at++, load<u8>(SCRATCH + k));
  store<u8>(at++, DOT);
  store<u8>(at++, load<u8>(SCRATCH + n - 2));
  store<u8>(at++, load<u8>(SCRATCH + n - 1));
  return at;
}
