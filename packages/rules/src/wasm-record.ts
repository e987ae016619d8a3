import { CANONICAL_ORDER } from './base-row.ts';
import type { OnRecord, ScanResult } from './csv.ts';
import { type BulkLines, composeMark, FastRecordEncoder, scanRecordBytes } from './fast-record.ts';
import type { ShardWriter } from './shard-writer.ts';
import { instantiateWasm, reserveWasmMemory, type WasmMemory } from './wasm/instance.ts';
import { RECORD_ENCODER_WASM } from './wasm/record-encoder.wasm.ts';

/**
 * The partition's fast path in WebAssembly (`assembly/record-encoder.ts`): the lines of a block of
 * CSV records (or of PostgreSQL's COPY text) with six fields, an ASCII ordem_id, a valid data and
 * valor, nothing from U+0380 on and no quoted field going on past the line — quoted fields, blanks
 * to trim, characters to escape and letters written decomposed included — are split, validated,
 * normalized and encoded as shard lines there, two to three times faster than
 * `FastRecordEncoder.encode` (or `encodeTabbed`), which write exactly the same bytes. Each line it does not take goes, alone, the way every line went
 * before: `FastRecordEncoder`, else `scanRecords` + the caller's `onRecord` (`normalizeRecord`, the
 * rejects); then the WebAssembly encoder goes on from the next line.
 *
 * Its lines wait in its memory, a region per slot (shard × bucket), and are appended to the
 * writer's slots at the end of the block — or before any other line is written to that slot
 * (`ShardWriter.beforeWrite`), so each slot keeps its lines in file order (the first line of an
 * order wins). Everything here is synchronous: the writer holds every line of the block when it
 * returns.
 */

/** The WebAssembly module's exports. */
interface EncoderExports {
  memory: WasmMemory;
  LAYOUT_END: { readonly value: number };
  init(): void;
  run(): number;
}

// The module's STATE (int32 indexes) and run outcomes, as assembly/record-encoder.ts has them.
const STATE = 256;
const ORDER = 384;
const COMPOSED = 1024;
const S_POS = 0;
const S_LINHA = 1;
const S_END = 2;
const S_RECORDS = 3;
const S_MIN_KEY = 4;
const S_MAX_KEY = 5;
const S_SHARDS = 6;
const S_BUCKET_BITS = 7;
const S_LENGTHS = 8;
const S_REGIONS = 9;
const S_REGION = 10;
const S_FULL_SLOT = 11;
const S_PAIR = 12;
const RUN_DONE = 0;
const RUN_REFUSED = 1;
const RUN_SLOT_FULL = 2;
const RUN_NEED_PAIR = 3;
const RUN_PAUSED = 4;
const S_LIMIT = 14;
const S_MODE = 15;
const MODE_CSV = 0;
const MODE_COPY = 1;
/** Bytes of the block a call of the module's `run` begins lines in at most (see RUN_PAUSED). */
const RUN_BYTES = 64 << 10;

/**
 * A block whose lines the module mostly leaves (e.g. names in Greek or CJK, which NFC may change)
 * would pay a call of it per line on top of the TypeScript path (~30% slower than that path
 * alone): after this many lines left, the module stops being offered lines of the block when it
 * wrote fewer lines than it left.
 */
const DECLINE_AFTER = 256;
/** Line numbers past this stay with the TypeScript encoder (the module counts in int32). */
const MAX_LINHA = 0x7fffffff;

/** This thread's encoders not in use (each block takes one and gives it back). */
const idle: WasmRecordEncoder[] = [];

/** What `encodeRecordBlock` did besides the scan. */
export interface EncodedBlock extends ScanResult {
  /** Records encoded from their bytes (WebAssembly or `FastRecordEncoder`), not given to `onRecord`. */
  fast: number;
  /** Of those, the ones the WebAssembly encoder wrote. */
  wasm: number;
  /** The least and greatest `data` of those records, as YYYYMMDD (±Infinity when none). */
  minDataKey: number;
  maxDataKey: number;
}

/**
 * `scanRecordBytes` of a block of whole records with `FastRecordEncoder` for each line, as the
 * partition's handlers did — the same lines in the same slots, the same calls of `onRecord` — with
 * the lines the WebAssembly encoder takes written by it. `wasm: false`: without it (the reference
 * the tests compare with). `keepOffering`: offer it every line even when it leaves most (see
 * DECLINE_AFTER; tests that mean to exercise it on lines it mostly leaves).
 */
export function encodeRecordBlock(
  bytes: Buffer,
  firstLine: number,
  columnOrder: readonly number[],
  writer: ShardWriter,
  onRecord: OnRecord,
  options: { wasm?: boolean; keepOffering?: boolean } = {},
): EncodedBlock {
  const encoder = new FastRecordEncoder(columnOrder);
  let fast = 0;
  let minDataKey = Number.POSITIVE_INFINITY;
  let maxDataKey = Number.NEGATIVE_INFINITY;
  const onLine = (start: number, end: number, linha: number): boolean => {
    if (!encoder.encode(bytes, start, end, linha, writer)) return false;
    fast++;
    const key = encoder.dataKey;
    if (key < minDataKey) minDataKey = key;
    if (key > maxDataKey) maxDataKey = key;
    return true;
  };
  const usable = options.wasm !== false && firstLine + bytes.length < MAX_LINHA && bytes.length > 0;
  if (!usable) {
    const scan = scanRecordBytes(bytes, firstLine, onLine, onRecord);
    return { ...scan, fast, wasm: 0, minDataKey, maxDataKey };
  }
  const wasm = idle.pop() ?? new WasmRecordEncoder();
  try {
    const bulk = wasm.start(bytes, firstLine, columnOrder, writer, MODE_CSV, options.keepOffering === true);
    const scan = scanRecordBytes(bytes, firstLine, onLine, onRecord, bulk);
    const done = wasm.finish();
    return {
      ...scan,
      fast: fast + done.records,
      wasm: done.records,
      minDataKey: Math.min(minDataKey, done.minDataKey),
      maxDataKey: Math.max(maxDataKey, done.maxDataKey),
    };
  } finally {
    wasm.release();
    idle.push(wasm);
  }
}

/**
 * The rows of PostgreSQL's COPY text (whole lines, in the canonical column order) into `writer`:
 * those the WebAssembly encoder takes written by it exactly as `FastRecordEncoder.encodeTabbed`
 * writes them (linha 0), each other line [start, end) (its line break at `end`) given alone, in
 * order, to `eachLine`. Returns how many rows the WebAssembly encoder wrote.
 */
export function encodeCopyLines(
  bytes: Buffer,
  writer: ShardWriter,
  eachLine: (start: number, end: number) => void,
): number {
  const n = bytes.length;
  if (n === 0) return 0;
  const wasm = idle.pop() ?? new WasmRecordEncoder();
  try {
    const bulk = wasm.start(bytes, 0, CANONICAL_ORDER, writer, MODE_COPY);
    let offer = true;
    for (let pos = 0; pos < n; ) {
      if (offer) {
        bulk.run(pos, 0);
        pos = bulk.pos;
        offer = !bulk.declines;
        if (pos >= n) break;
      }
      let end = bytes.indexOf(LF, pos);
      if (end === -1) end = n;
      eachLine(pos, end);
      pos = end + 1;
    }
    return wasm.finish().records;
  } finally {
    wasm.release();
    idle.push(wasm);
  }
}

const LF = 10;

/** One instance of the module: its memory holds a block, the slots' regions and its tables. */
class WasmRecordEncoder implements BulkLines {
  pos = 0;
  lines = 0;
  records = 0;
  declines = false;
  /** Lines of the block it left to the TypeScript paths. */
  private left = 0;
  private keepOffering = false;
  private readonly exports: EncoderExports;
  private readonly layoutEnd: number;
  private u8: Uint8Array;
  private i32: Int32Array;
  private writer: ShardWriter | null = null;
  /** Where the block starts in memory (a byte of the block at k is at `input + k`). */
  private input = 0;
  private slots = 0;
  private written = 0;

  constructor() {
    this.exports = instantiateWasm<EncoderExports>(RECORD_ENCODER_WASM);
    this.exports.init();
    this.layoutEnd = this.exports.LAYOUT_END.value;
    this.u8 = new Uint8Array(this.exports.memory.buffer);
    this.i32 = new Int32Array(this.exports.memory.buffer);
  }

  /** Lays the block and `writer`'s slots out in memory; the scan's `bulk`. */
  start(
    bytes: Buffer,
    firstLine: number,
    columnOrder: readonly number[],
    writer: ShardWriter,
    mode: typeof MODE_CSV | typeof MODE_COPY,
    keepOffering = false,
  ): BulkLines {
    const slots = writer.shardCount << writer.bucketBits;
    // Each slot's share of the block and some room (a shard line is about as long as its CSV
    // line); a slot that fills up is emptied into the writer and the run goes on.
    const region = Math.min(1 << 20, align(Math.ceil((bytes.length * 1.25) / slots) + 2048, 4096));
    const lengths = align(this.layoutEnd, 8);
    const regions = align(lengths + 4 * slots, 8);
    const input = align(regions + slots * region, 8);
    this.reserve(input + bytes.length);
    this.u8.set(bytes, input);
    this.i32.fill(0, lengths >> 2, (lengths >> 2) + slots);
    const s = STATE >> 2;
    this.i32[s + S_LINHA] = firstLine;
    this.i32[s + S_END] = input + bytes.length;
    this.i32[s + S_MIN_KEY] = 0x7fffffff;
    this.i32[s + S_MAX_KEY] = -1;
    this.i32[s + S_SHARDS] = writer.shardCount;
    this.i32[s + S_BUCKET_BITS] = writer.bucketBits;
    this.i32[s + S_LENGTHS] = lengths;
    this.i32[s + S_REGIONS] = regions;
    this.i32[s + S_REGION] = region;
    this.i32[s + S_MODE] = mode;
    this.left = 0;
    this.declines = false;
    this.keepOffering = keepOffering;
    for (let k = 0; k < 6; k++) this.i32[(ORDER >> 2) + k] = columnOrder[k]!;
    this.input = input;
    this.slots = slots;
    this.written = 0;
    this.writer = writer;
    writer.beforeWrite = (slot) => this.empty(slot);
    return this;
  }

  /** BulkLines: encodes from byte `pos` of the block (line `line`) until a line it leaves. */
  run(pos: number, line: number): void {
    const s = STATE >> 2;
    this.i32[s + S_POS] = this.input + pos;
    this.i32[s + S_LINHA] = line;
    let records = 0;
    for (;;) {
      this.i32[s + S_LIMIT] = this.i32[s + S_POS]! + RUN_BYTES;
      const status = this.exports.run();
      records += this.i32[s + S_RECORDS]!;
      if (status === RUN_DONE) break;
      if (status === RUN_REFUSED) {
        this.left++;
        break;
      }
      if (status === RUN_PAUSED) continue;
      if (status === RUN_SLOT_FULL) this.empty(this.i32[s + S_FULL_SLOT]!);
      else if (status === RUN_NEED_PAIR) {
        const pair = this.i32[s + S_PAIR]!;
        this.i32[(COMPOSED >> 2) + pair] = composeMark(pair >> 7, 0x300 + (pair & 127));
      } else throw new Error(`the WebAssembly record encoder stopped with ${status}`);
    }
    this.pos = this.i32[s + S_POS]! - this.input;
    this.lines = this.i32[s + S_LINHA]! - line;
    this.records = records;
    this.written += records;
    if (!this.keepOffering && !this.declines && this.left >= DECLINE_AFTER && this.written < this.left) {
      // Its lines go to the writer now, and the writer needs no hook for the rest of the block.
      this.declines = true;
      for (let slot = 0; slot < this.slots; slot++) this.empty(slot);
      this.writer!.beforeWrite = null;
    }
  }

  /** Every slot's lines into the writer: what the block's lines written here come to. */
  finish(): { records: number; minDataKey: number; maxDataKey: number } {
    for (let slot = 0; slot < this.slots; slot++) this.empty(slot);
    const s = STATE >> 2;
    const records = this.written;
    return {
      records,
      minDataKey: records === 0 ? Number.POSITIVE_INFINITY : this.i32[s + S_MIN_KEY]!,
      maxDataKey: records === 0 ? Number.NEGATIVE_INFINITY : this.i32[s + S_MAX_KEY]!,
    };
  }

  /** Unhooks the writer (whatever happened); the instance can take another block. */
  release(): void {
    if (this.writer !== null) this.writer.beforeWrite = null;
    this.writer = null;
  }

  /** The lines waiting in `slot`'s region, appended to the writer's slot. */
  private empty(slot: number): void {
    const s = STATE >> 2;
    const at = (this.i32[s + S_LENGTHS]! >> 2) + slot;
    const used = this.i32[at]!;
    if (used === 0) return;
    const from = this.i32[s + S_REGIONS]! + slot * this.i32[s + S_REGION]!;
    this.writer!.append(slot, this.u8, from, from + used);
    this.i32[at] = 0;
  }

  /** Memory of at least `bytes` (grown in whole pages; the views are remade after a growth). */
  private reserve(bytes: number): void {
    const memory = this.exports.memory;
    if (reserveWasmMemory(memory, bytes)) {
      this.u8 = new Uint8Array(memory.buffer);
      this.i32 = new Int32Array(memory.buffer);
    }
  }
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
