import { isUtf8 } from 'node:buffer';
import { FileRejectedError } from '@recon/contracts';
import { scanRecords } from './csv.ts';
import { parseHeader } from './header.ts';

/** A run of whole records of a file, decoded, with the physical line where it starts. */
export interface RecordBlock {
  text: string;
  firstLine: number;
  /** Non-blank records in the block. */
  records: number;
}

export interface BlockReaderOptions {
  /** Names the file in error messages (a path or key). */
  label: string;
  /** Approximate size of a block in bytes (blocks end on record boundaries). */
  blockBytes: number;
  /** Sees every byte of the file, in order (e.g. to compute its SHA-256). */
  onBytes?: (bytes: Uint8Array) => void;
}

/**
 * Streams a `;` CSV file into blocks of whole records (RULES §2), after its header:
 * rejects an empty file, a bad header and invalid UTF-8 (naming the first bad line), ignores a BOM,
 * and never splits a quoted field across blocks. Memory is bounded by the block size.
 */
export class RecordBlockReader {
  /** For each canonical column, its position in the file; set once the header is read. */
  columnOrder: number[] | null = null;
  records = 0;
  bytes = 0;
  private line = 1;
  private carry = '';
  private readonly options: BlockReaderOptions;

  constructor(options: BlockReaderOptions) {
    this.options = options;
  }

  async *blocks(source: AsyncIterable<Uint8Array>): AsyncGenerator<RecordBlock> {
    const { blockBytes, onBytes } = this.options;
    let pending: Uint8Array[] = [];
    let pendingLength = 0;
    for await (const chunk of source) {
      onBytes?.(chunk);
      this.bytes += chunk.length;
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength < blockBytes) continue;
      const all = Buffer.concat(pending, pendingLength);
      const lastNewline = all.lastIndexOf(10);
      if (lastNewline === -1) {
        pending = [all];
        continue;
      }
      const rest = all.subarray(lastNewline + 1);
      pending = rest.length > 0 ? [rest] : [];
      pendingLength = rest.length;
      const block = this.take(all.subarray(0, lastNewline + 1), false);
      if (block !== null) yield block;
    }
    if (this.bytes === 0) {
      throw new FileRejectedError(
        'FILE_EMPTY',
        `${this.options.label}: the file is empty (0 bytes); expected a header line and data lines.`,
      );
    }
    const block = this.take(Buffer.concat(pending, pendingLength), true);
    if (block !== null) yield block;
    if (this.columnOrder === null) {
      throw new FileRejectedError(
        'FILE_EMPTY',
        `${this.options.label}: the file has no header line (only blank lines).`,
      );
    }
  }

  private take(bytes: Buffer, final: boolean): RecordBlock | null {
    if (!isUtf8(bytes)) this.failUtf8(bytes);
    let text = this.carry + bytes.toString('utf8');
    this.carry = '';
    if (this.columnOrder === null) {
      if (this.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      text = this.readHeader(text, final);
      if (this.columnOrder === null) {
        this.carry = text;
        return null;
      }
    }
    const firstLine = this.line;
    const scan = scanRecords(text, firstLine, final, null);
    if (scan.unterminatedQuoteLine !== undefined) {
      throw new FileRejectedError(
        'UNTERMINATED_QUOTE',
        `${this.options.label}, line ${scan.unterminatedQuoteLine}: a field opened with a double quote is never closed before the end of the file; close it with " (a quote inside a quoted field is written "").`,
      );
    }
    this.line += scan.lines;
    this.carry = text.slice(scan.end);
    this.records += scan.records;
    if (scan.records === 0) return null;
    return {
      text: scan.end === text.length ? text : text.slice(0, scan.end),
      firstLine,
      records: scan.records,
    };
  }

  /** Consumes blank lines and the header record; returns the text after it. */
  private readHeader(text: string, final: boolean): string {
    let header: string[] | null = null;
    let headerEnd = 0;
    let pos = 0;
    while (header === null) {
      const newline = text.indexOf('\n', pos);
      if (newline === -1 && !final) return text.slice(pos);
      const end = newline === -1 ? text.length : newline + 1;
      const lineText = text.slice(pos, end);
      scanRecords(lineText, this.line, true, (fields) => {
        header = fields;
      });
      this.line++;
      pos = end;
      headerEnd = end;
      if (newline === -1) break;
    }
    if (header !== null) this.columnOrder = parseHeader(header, this.options.label);
    return text.slice(headerEnd);
  }

  private failUtf8(bytes: Buffer): never {
    let line = this.line + countNewlines(this.carry);
    let start = 0;
    while (start < bytes.length) {
      let end = bytes.indexOf(10, start);
      if (end === -1) end = bytes.length;
      if (!isUtf8(bytes.subarray(start, end))) {
        throw new FileRejectedError(
          'FILE_NOT_UTF8',
          `${this.options.label}, line ${line}: not valid UTF-8 (first bad line). Re-export the file as UTF-8.`,
        );
      }
      line++;
      start = end + 1;
    }
    throw new FileRejectedError(
      'FILE_NOT_UTF8',
      `${this.options.label}: not valid UTF-8. Re-export the file as UTF-8.`,
    );
  }
}

function countNewlines(text: string): number {
  let count = 0;
  for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1)) count++;
  return count;
}
