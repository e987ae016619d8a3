import { isUtf8 } from 'node:buffer';
import { FileRejectedError, type ObjectStore, ReconError } from '@recon/contracts';
import { scanRecordBoundaries, scanRecords } from './csv.ts';
import { parseHeader } from './header.ts';

/** A run of whole records of a file, with the physical line where it starts. */
export interface RecordBlock {
  /** The records' UTF-8 bytes (validated), as in the file. */
  bytes: Buffer;
  /** The same, decoded (done on first use: the hot paths work on `bytes`). */
  readonly text: string;
  firstLine: number;
  /** Byte offset of `bytes` in the file. */
  offset: number;
  /** Non-blank records in the block. */
  records: number;
}

const EMPTY = Buffer.alloc(0);
const LF = 10;

function recordBlock(bytes: Buffer, firstLine: number, offset: number, records: number): RecordBlock {
  let text: string | null = null;
  return {
    bytes,
    get text() {
      text ??= bytes.toString('utf8');
      return text;
    },
    firstLine,
    offset,
    records,
  };
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
 * A file read by byte ranges (a local file, an S3 object): what `RecordBlockReader.blocksOf` reads
 * a block at a time, each straight into its own buffer.
 */
export interface RangeSource {
  /** The file's size in bytes, when reading starts. */
  size: number;
  /** Bytes [start, end) of the file; fewer only where the file ends. */
  read(start: number, end: number): Promise<Uint8Array>;
}

/**
 * Object `key` of `store` as a RangeSource. A missing object is refused with the store's own error,
 * the one a read of it gives.
 */
export async function storeRangeSource(
  store: Pick<ObjectStore, 'size' | 'getRange' | 'uri'>,
  key: string,
): Promise<RangeSource> {
  const size = await store.size(key);
  if (size === null) {
    await store.getRange(key, 0, 0);
    throw new ReconError('OBJECT_NOT_FOUND', `object ${JSON.stringify(key)} not found (${store.uri(key)})`);
  }
  return { size, read: (start, end) => store.getRange(key, start, end) };
}

/**
 * Reads a `;` CSV file into blocks of whole records (RULES §2), after its header:
 * rejects an empty file, a bad header and invalid UTF-8 (naming the first bad line), ignores a BOM,
 * and never splits a quoted field across blocks. Memory is bounded by the block size.
 */
export class RecordBlockReader {
  /** For each canonical column, its position in the file; set once the header is read. */
  columnOrder: number[] | null = null;
  records = 0;
  bytes = 0;
  private line = 1;
  private carry: Buffer = EMPTY;
  /** Byte offset in the file of `carry` (of the bytes still to come when it is empty). */
  private carryOffset = 0;
  private readonly options: BlockReaderOptions;

  constructor(options: BlockReaderOptions) {
    this.options = options;
  }

  /**
   * The blocks of a file read by byte ranges: each block is one read, into a buffer of its own,
   * ending at the block's last line break (the partial line after it starts the next read), and
   * the next read is under way while a block is checked and used. No byte is copied on the way
   * (`blocks` joins stream chunks into blocks), and reading overlaps the work on each block.
   */
  async *blocksOf(source: RangeSource): AsyncGenerator<RecordBlock> {
    const { blockBytes, onBytes } = this.options;
    const { size } = source;
    let position = 0;
    let want = Math.max(1, blockBytes);
    // A read still under way when the caller stops early must not become an unhandled rejection.
    const read = (start: number, end: number) => {
      const promise = source.read(start, end);
      promise.catch(() => {});
      return promise;
    };
    let reading: Promise<Uint8Array> | null = size > 0 ? read(0, Math.min(size, want)) : null;
    while (reading !== null) {
      const piece = asBuffer(await reading);
      reading = null;
      const final = position + piece.length >= size || piece.length < Math.min(size - position, want);
      let cut = piece.length;
      if (!final) {
        const lastNewline = piece.lastIndexOf(LF);
        if (lastNewline === -1) {
          // A line longer than a block: read it again, in a larger block.
          want *= 2;
          reading = read(position, Math.min(size, position + want));
          continue;
        }
        cut = lastNewline + 1;
        want = Math.max(1, blockBytes);
        reading = read(position + cut, Math.min(size, position + cut + want));
      }
      const bytes = cut === piece.length ? piece : piece.subarray(0, cut);
      position += cut;
      onBytes?.(bytes);
      this.bytes += bytes.length;
      const block = this.take(bytes, final);
      if (block !== null) yield block;
    }
    this.finish();
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
      // One piece (a stream chunk as large as a block) needs no copy.
      const all = joined(pending, pendingLength);
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
    const block = this.take(joined(pending, pendingLength), true);
    if (block !== null) yield block;
    this.finish();
  }

  /** After the last block: a file with no header line is refused. */
  private finish(): void {
    if (this.bytes === 0) {
      throw new FileRejectedError(
        'FILE_EMPTY',
        `${this.options.label}: the file is empty (0 bytes); expected a header line and data lines.`,
      );
    }
    if (this.columnOrder === null) {
      throw new FileRejectedError(
        'FILE_EMPTY',
        `${this.options.label}: the file has no header line (only blank lines).`,
      );
    }
  }

  private take(bytes: Buffer, final: boolean): RecordBlock | null {
    if (!isUtf8(bytes)) this.failUtf8(bytes);
    // Bytes throughout: delimiters are ASCII, and UTF-8 never uses ASCII bytes inside a
    // character, so boundaries found on a latin1 view (one char per byte) are the same.
    let all = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    this.carry = EMPTY;
    let offset = this.carryOffset;
    if (this.columnOrder === null) {
      // BOM and header are cut off as views of `all`: the distance between views is what they took.
      const before = all.byteOffset;
      if (this.line === 1 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf) all = all.subarray(3);
      all = this.readHeader(all, final);
      offset += all.byteOffset - before;
      if (this.columnOrder === null) {
        this.carry = all;
        this.carryOffset = offset;
        return null;
      }
    }
    const firstLine = this.line;
    const scan = scanRecordBoundaries(all, firstLine, final);
    if (scan.unterminatedQuoteLine !== undefined) {
      throw new FileRejectedError(
        'UNTERMINATED_QUOTE',
        `${this.options.label}, line ${scan.unterminatedQuoteLine}: a field opened with a double quote is never closed before the end of the file; close it with " (a quote inside a quoted field is written "").`,
      );
    }
    this.line += scan.lines;
    this.carry = all.subarray(scan.end);
    this.carryOffset = offset + scan.end;
    this.records += scan.records;
    if (scan.records === 0) return null;
    return recordBlock(all.subarray(0, scan.end), firstLine, offset, scan.records);
  }

  /** Consumes blank lines and the header record; returns the bytes after it. */
  private readHeader(bytes: Buffer, final: boolean): Buffer {
    let header: string[] | null = null;
    let headerEnd = 0;
    let pos = 0;
    while (header === null) {
      const newline = bytes.indexOf(LF, pos);
      if (newline === -1 && !final) return bytes.subarray(pos);
      const end = newline === -1 ? bytes.length : newline + 1;
      const lineText = bytes.toString('utf8', pos, end);
      scanRecords(lineText, this.line, true, (fields) => {
        header = fields;
      });
      this.line++;
      pos = end;
      headerEnd = end;
      if (newline === -1) break;
    }
    if (header !== null) this.columnOrder = parseHeader(header, this.options.label);
    return bytes.subarray(headerEnd);
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

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function joined(pieces: Uint8Array[], length: number): Buffer {
  if (pieces.length === 1) {
    const only = pieces[0]!;
    return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }
  return Buffer.concat(pieces, length);
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let k = bytes.indexOf(LF); k !== -1; k = bytes.indexOf(LF, k + 1)) count++;
  return count;
}
