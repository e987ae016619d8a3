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
 * `onRecord` may be null when only boundaries and counts are needed.
 */
export function scanRecords(
  text: string,
  firstLine: number,
  final: boolean,
  onRecord: OnRecord | null,
): ScanResult {
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
        if (onRecord !== null) {
          const raw = text.slice(pos, end);
          onRecord(raw.split(';'), line, raw);
        }
      }
      line++;
      pos = nl + 1;
      continue;
    }
    if (onRecord === null) {
      // Boundaries only (ingest): skip building the fields.
      const recordEnd = quotedRecordEnd(text, pos);
      if (recordEnd === -1) {
        if (!final) break;
        return { end: pos, lines: line - firstLine, records, unterminatedQuoteLine: line };
      }
      records++;
      for (let k = text.indexOf('\n', pos); k !== -1 && k < recordEnd; k = text.indexOf('\n', k + 1)) line++;
      line++;
      pos = recordEnd + 1;
      continue;
    }
    const quoted = scanQuotedRecord(text, pos);
    if (quoted.end === -1) {
      if (!final) break;
      return { end: pos, lines: line - firstLine, records, unterminatedQuoteLine: line };
    }
    records++;
    if (onRecord !== null) onRecord(quoted.fields, line, text.slice(pos, quoted.rawEnd));
    line += quoted.newlines + 1;
    pos = quoted.end + 1;
  }
  return { end: Math.min(pos, n), lines: line - firstLine, records };
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
 * The index of the `\n` ending the record that starts at `start` and holds a quote (the text's
 * length when none), or -1 when it ends inside quotes: `scanRecords`' quoted state machine
 * without building fields.
 */
export function quotedRecordEnd(text: string, start: number): number {
  const n = text.length;
  let inQuotes = false;
  let afterQuote = false;
  let fieldBlank = true;
  let i = start;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === QUOTE) {
        if (text.charCodeAt(i + 1) === QUOTE) i++;
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
