/**
 * RULES §2 record scanning: `;` separated, RFC 4180 double quotes (a quoted field may hold `;`,
 * `""` and line breaks), LF or CRLF, blank lines skipped but counted in the line numbering.
 * Written for speed: a line without a quote is split natively; only quoted records take the
 * character-by-character path.
 */

/** Called for each non-blank record with its raw fields (untrimmed), physical line and raw text. */
export type OnRecord = (fields: string[], linha: number, raw: string) => void;

export interface ScanResult {
  /** Index in `text` just past the last complete record consumed. */
  end: number;
  /** Physical lines consumed (each `\n` ends one). */
  lines: number;
  /** Non-blank records seen. */
  records: number;
  /** Set when `final` and the text ends inside a quoted field: the line where that record starts. */
  unterminatedQuoteLine?: number;
}

const QUOTE = 34;
const SEMI = 59;
const LF = 10;
const CR = 13;

/**
 * Scans whole records of `text` from index 0; `firstLine` is the physical line of the first one.
 * When `final` is false, a record not yet ended by `\n` is left unconsumed (`end` stops before it).
 * Boundaries and counts alone come faster from the bytes: `scanRecordBoundaries`.
 */
export function scanRecords(text: string, firstLine: number, final: boolean, onRecord: OnRecord): ScanResult {
  const n = text.length;
  let pos = 0;
  let line = firstLine;
  let records = 0;
  let nextQuote = text.indexOf('"');
  while (pos < n) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) {
      if (!final) break;
      nl = n;
    }
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
    if (nextQuote === -1 || nextQuote >= nl) {
      const end = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      if (!isBlank(text, pos, end)) {
        records++;
        const raw = text.slice(pos, end);
        onRecord(raw.split(';'), line, raw);
      }
      line++;
      pos = nl + 1;
      continue;
    }
    const quoted = scanQuotedRecord(text, pos);
    if (quoted.end === -1) {
      if (!final) break;
      return { end: pos, lines: line - firstLine, records, unterminatedQuoteLine: line };
    }
    records++;
    onRecord(quoted.fields, line, text.slice(pos, quoted.rawEnd));
    line += quoted.newlines + 1;
    pos = quoted.end + 1;
  }
  return { end: Math.min(pos, n), lines: line - firstLine, records };
}

/**
 * The boundaries and counts of `scanRecords(bytes.toString('latin1'), firstLine, final, …)`,
 * straight from the bytes, without building the string or the fields. UTF-8 never uses an ASCII
 * byte inside a character, so every delimiter is where the latin1 view has it. Buffer.indexOf
 * finds each line break natively: several times faster than decoding the block to a string and
 * searching that.
 */
export function scanRecordBoundaries(bytes: Buffer, firstLine: number, final: boolean): ScanResult {
  const n = bytes.length;
  let pos = 0;
  let line = firstLine;
  let records = 0;
  let nextQuote = bytes.indexOf(QUOTE);
  while (pos < n) {
    let nl = bytes.indexOf(LF, pos);
    if (nl === -1) {
      if (!final) break;
      nl = n;
    }
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = bytes.indexOf(QUOTE, pos);
    if (nextQuote === -1 || nextQuote >= nl) {
      const end = nl > pos && bytes[nl - 1] === CR ? nl - 1 : nl;
      if (!isBlankBytes(bytes, pos, end)) records++;
      line++;
      pos = nl + 1;
      continue;
    }
    const recordEnd = quotedRecordEndBytes(bytes, pos);
    if (recordEnd === -1) {
      if (!final) break;
      return { end: pos, lines: line - firstLine, records, unterminatedQuoteLine: line };
    }
    records++;
    for (let k = bytes.indexOf(LF, pos); k !== -1 && k < recordEnd; k = bytes.indexOf(LF, k + 1)) line++;
    line++;
    pos = recordEnd + 1;
  }
  return { end: Math.min(pos, n), lines: line - firstLine, records };
}

/** Whether bytes [start, end) are only spaces and tabs. */
export function isBlankBytes(bytes: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const c = bytes[k]!;
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

interface QuotedRecord {
  fields: string[];
  /** Index of the `\n` ending the record (or text length); -1 when the text ends inside quotes. */
  end: number;
  /** End of the raw record text (before `\r\n`). */
  rawEnd: number;
  /** Line breaks inside quoted fields. */
  newlines: number;
}

/** The character-level path for a record with at least one quote, from `start` (a line start). */
function scanQuotedRecord(text: string, start: number): QuotedRecord {
  const n = text.length;
  const fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let afterQuote = false;
  let newlines = 0;
  let i = start;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === QUOTE) {
        if (text.charCodeAt(i + 1) === QUOTE) {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else {
        if (c === LF) newlines++;
        field += text[i];
      }
      continue;
    }
    if (c === SEMI) {
      fields.push(field);
      field = '';
      afterQuote = false;
    } else if (c === LF) {
      break;
    } else if (c === QUOTE && !afterQuote && isBlank(field, 0, field.length)) {
      // An opening quote: only at the start of a field (after optional blanks).
      field = '';
      inQuotes = true;
    } else if (afterQuote && (c === 32 || c === 9 || c === CR)) {
      // Blanks after a closing quote are trimmed like any blank around a field.
    } else {
      field += text[i];
    }
  }
  if (inQuotes) return { fields, end: -1, rawEnd: -1, newlines };
  if (field.length > 0 && field.charCodeAt(field.length - 1) === CR) field = field.slice(0, -1);
  fields.push(field);
  const rawEnd = i > start && text.charCodeAt(i - 1) === CR ? i - 1 : i;
  return { fields, end: i, rawEnd, newlines };
}

/**
 * The index of the `\n` ending the record that starts at `start` and holds a quote (the length
 * when none), or -1 when it ends inside quotes: `scanRecords`' quoted state machine over bytes,
 * without building fields.
 */
export function quotedRecordEndBytes(bytes: Uint8Array, start: number): number {
  const n = bytes.length;
  let inQuotes = false;
  let afterQuote = false;
  let fieldBlank = true;
  let i = start;
  for (; i < n; i++) {
    const c = bytes[i]!;
    if (inQuotes) {
      if (c === QUOTE) {
        if (bytes[i + 1] === QUOTE) i++;
        else {
          inQuotes = false;
          afterQuote = true;
        }
      }
      continue;
    }
    if (c === SEMI) {
      fieldBlank = true;
      afterQuote = false;
    } else if (c === LF) {
      break;
    } else if (c === QUOTE && !afterQuote && fieldBlank) {
      inQuotes = true;
    } else if (!afterQuote && c !== 32 && c !== 9) {
      fieldBlank = false;
    }
  }
  return inQuotes ? -1 : i;
}
