import {
  compareUtf8,
  type DateWindow,
  type DivergenceColumns,
  decodeShardLine,
  ReconError,
  type RejectedLine,
  type Scope,
  SEVERIDADES,
  type Severidade,
  type ShardCounts,
  type ShardRecord,
  sameBytes,
  TIPOS,
  type TipoDivergencia,
} from '@recon/contracts';
import { instantiateWasm, reserveWasmMemory, type WasmMemory } from '@recon/rules';
import { DivergenceLog, decodeField, parseLinha } from './divergence-columns.ts';
import type { SeverityPolicy } from './severity.ts';
import { SHARD_MATCHER_WASM } from './wasm/shard-matcher.wasm.ts';

export interface ShardInput {
  jobId: string;
  /**
   * The shard's vendor slices, encoded (`@recon/contracts` shard format), in file order: the parts'
   * bytes, or text.
   */
  vendor: readonly (Uint8Array | string)[];
  /** The shard's base slices, encoded, in file order (the first occurrence of an order wins). */
  base: readonly (Uint8Array | string)[];
  /**
   * Per vendor slice, the byte lengths of its buckets (`PartRef.buckets`), or undefined (one
   * bucket). The shard is matched a region at a time, in as many regions as the slice of either
   * side with the fewest buckets has (`ShardMatch.regions`).
   */
  vendorBuckets?: readonly (readonly number[] | undefined)[];
  /** Per base slice, as `vendorBuckets`. */
  baseBuckets?: readonly (readonly number[] | undefined)[];
  /**
   * Text slices are the parts' UTF-8 bytes decoded as latin1 (one char per byte); default false
   * (text slices are the decoded text). Byte slices are always UTF-8.
   */
  binary?: boolean;
  scope: Scope;
  window: DateWindow | null;
  /** When the divergences are produced (epoch ms). */
  timestamp: number;
  severity: SeverityPolicy;
}

/** A duplicate line; its raw text is filled in by the reporter from the vendor chunk. */
export type DuplicateLine = Omit<RejectedLine, 'conteudo'> & { conteudo: string | null };

export interface ShardOutput {
  /** Sorted by (tipo_divergencia, ordem_id) (RULES §6). */
  divergences: DivergenceColumns;
  vendorDuplicates: DuplicateLine[];
  /** Base rows rejected here: later lines of an order, and looked-up rows that broke a rule. */
  baseDuplicates: RejectedLine[];
  counts: ShardCounts;
}

const TAB = 9;
const LF = 10;

/** A slice's bytes (text slices: latin1 when `binary`, else UTF-8). */
function bytesOf(slice: Uint8Array | string, binary: boolean): Uint8Array {
  return typeof slice === 'string' ? Buffer.from(slice, binary ? 'latin1' : 'utf8') : slice;
}

/**
 * Groups of pieces as one byte buffer of whole lines (a piece without a final line break gets
 * one; empty pieces are skipped), the groups one after another, and where each group starts in it
 * (`groups.length + 1` offsets). A single piece is the buffer itself, not a copy.
 */
function joinGroups(groups: readonly (readonly Uint8Array[])[]): { bytes: Buffer; starts: Int32Array } {
  const pieces: Uint8Array[] = [];
  const starts = new Int32Array(groups.length + 1);
  let total = 0;
  for (let g = 0; g < groups.length; g++) {
    starts[g] = total;
    for (const piece of groups[g]!) {
      if (piece.length === 0) continue;
      pieces.push(piece);
      total += piece.length;
      if (piece[piece.length - 1] !== LF) {
        pieces.push(NEWLINE);
        total++;
      }
    }
  }
  starts[groups.length] = total;
  if (pieces.length === 1) {
    const only = pieces[0]!;
    const bytes = Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
    return { bytes, starts };
  }
  return { bytes: Buffer.concat(pieces, total), starts };
}
const NEWLINE = Buffer.from('\n');

/**
 * The fewest buckets a slice of this side has (a power of two; buckets nest, see `slotOfHash`):
 * 1 when a slice has none, infinity when the side has no slice.
 */
function fewestBuckets(
  slices: readonly unknown[],
  buckets: readonly (readonly number[] | undefined)[] | undefined,
): number {
  let fewest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < slices.length; i++) {
    const n = buckets?.[i]?.length ?? 1;
    if ((n & (n - 1)) !== 0) {
      throw new ReconError('INTERNAL', `a shard slice has ${n} buckets: expected a power of two`);
    }
    fewest = Math.min(fewest, n);
  }
  return fewest;
}

/**
 * The slices' lines region by region (region r: the lines of every slice's buckets in it, the
 * slices in order), as one buffer, and where each region starts in it (`regions + 1` offsets).
 */
function joinRegions(
  slices: readonly (Uint8Array | string)[],
  buckets: readonly (readonly number[] | undefined)[] | undefined,
  regions: number,
  binary: boolean,
): { bytes: Buffer; starts: Int32Array } {
  const views = slices.map((slice) => bytesOf(slice, binary));
  if (regions === 1) return joinGroups([views]);
  const groups: Uint8Array[][] = Array.from({ length: regions }, () => []);
  for (let i = 0; i < views.length; i++) {
    // A slice's buckets, `sizes.length / regions` a region.
    const sizes = buckets![i]!;
    const group = sizes.length / regions;
    let at = 0;
    for (let r = 0; r < regions; r++) {
      const from = at;
      for (let k = r * group; k < (r + 1) * group; k++) at += sizes[k]!;
      groups[r]!.push(views[i]!.subarray(from, at));
    }
    if (at !== views[i]!.length) {
      throw new ReconError(
        'INTERNAL',
        `a shard slice of ${views[i]!.length} bytes has buckets of ${at} bytes`,
      );
    }
  }
  return joinGroups(groups);
}

/** Index of the next line break at or after `from` (every line ends with one). */
function lineEnd(bytes: Buffer, from: number): number {
  return bytes.indexOf(LF, from);
}

/** Index of the next tab at or after `from`. */
function nextTab(bytes: Buffer, from: number): number {
  let k = from;
  while (bytes[k] !== TAB) k++;
  return k;
}

/** What classify.ts uses of the WebAssembly module (assembly/shard-matcher.ts). */
interface MatcherExports {
  memory: WasmMemory;
  readBase(): number;
  claimVendor(): number;
  rehash(slots: number, mask: number): void;
}
/** This thread's module instances not in use (a shard takes one until it is finished). */
const idleInstances: MatcherExports[] = [];

// The module's STATE (int32 indexes), passes' outcomes and entry fields (assembly/shard-matcher.ts).
const S_B = 0;
const S_V = 1;
const S_ENTRIES = 2;
const S_ENTRY_CAP = 3;
const S_COUNT = 4;
const S_SLOTS = 5;
const S_MASK = 6;
const S_IN_REGION = 7;
const S_POS = 8;
const S_TO = 9;
const S_VENDOR_VALID = 10;
const S_MATCHED = 11;
const S_EV_POS = 12;
const S_EV_END = 13;
const S_EV_ENTRY = 14;
const S_EV_LINHA = 15;
const PASS_DONE = 0;
const BASE_DUPLICATE = 1;
const VENDOR_DUPLICATE = 2;
const UNMATCHED = 3;
const DIFFERS = 4;
const ENTRIES_FULL = 5;
const TABLE_FULL = 6;
const LINHA_TOO_LARGE = 7;
const KEY_END = 1;
const LINE_START = 2;
const CLAIMED_BY = 3;
const STRIDE = 4;
/** Bytes of STATE, and of room after each byte area (the module reads words up to 3 bytes on). */
const STATE_BYTES = 256;
const PAD = 8;

/**
 * The orders of a shard, keyed on the bytes of their encoded `ordem_id` (equal bytes ⇔ equal
 * orders) in open-addressing tables in a WebAssembly module's memory, which also holds a copy of
 * the shard's base and vendor bytes: the module's passes (`readBase`, `claimVendor`) do a shard's
 * lookups and comparisons, this class lays out its memory and reads its entries. Each entry is an
 * order as first seen — a base line, or a vendor line no base line matched — in insertion order:
 * where its key lies, its base line's start (-1 for a vendor line's key), and the vendor linha + 1
 * of the line that claimed it (0 while none did).
 *
 * Laid out for the cache: a shard's tables and lines are megabytes, so each lookup is a few
 * memory reads at random places. A slot holds the key's hash next to its entry, an entry's fields
 * sit together, and each region (`enter`: the shard's buckets) has a table of its own, a fraction
 * of the shard's size.
 */
class Orders {
  readonly regions: number;
  private readonly m: MatcherExports;
  private u8: Uint8Array;
  private i32: Int32Array;
  /** The next free byte of the memory (the caller's bump allocation). */
  private top: number;
  private region = -1;
  private readonly regionSlots: Int32Array;
  private readonly regionMasks: Int32Array;
  private readonly regionCounts: Int32Array;

  /** `expected`: a first guess of the orders' count (the entries and tables grow when needed). */
  constructor(base: Buffer, vendor: Buffer, expected: number, regions: number) {
    this.m = idleInstances.pop() ?? instantiateWasm<MatcherExports>(SHARD_MATCHER_WASM);
    this.u8 = new Uint8Array(this.m.memory.buffer);
    this.i32 = new Int32Array(this.m.memory.buffer);
    this.regions = regions;
    this.regionSlots = new Int32Array(regions);
    this.regionMasks = new Int32Array(regions);
    this.regionCounts = new Int32Array(regions);
    this.top = STATE_BYTES;
    // Each area is placed before STATE is written: a growth of the memory replaces `i32`.
    const b = this.place(base);
    const v = this.place(vendor);
    const capacity = Math.max(512, expected);
    const entries = this.alloc(capacity * STRIDE * 4);
    this.i32.fill(0, 0, STATE_BYTES >> 2);
    this.i32[S_B] = b;
    this.i32[S_V] = v;
    this.i32[S_ENTRIES] = entries;
    this.i32[S_ENTRY_CAP] = capacity;
  }

  get count(): number {
    return this.i32[S_COUNT]!;
  }

  /**
   * Keys found and added from now on are in `region`'s table (made on the region's first visit,
   * for about `expected` orders). Every key of an order must always be looked for in one region.
   */
  enter(region: number, expected: number): void {
    if (this.region >= 0) {
      this.regionSlots[this.region] = this.i32[S_SLOTS]!;
      this.regionMasks[this.region] = this.i32[S_MASK]!;
      this.regionCounts[this.region] = this.i32[S_IN_REGION]!;
    }
    this.region = region;
    if (this.regionSlots[region] === 0) {
      let capacity = 1024;
      while (capacity < expected * 2) capacity *= 2;
      const slots = this.table(capacity);
      this.i32[S_SLOTS] = slots;
      this.i32[S_MASK] = capacity - 1;
      this.i32[S_IN_REGION] = 0;
    } else {
      this.i32[S_SLOTS] = this.regionSlots[region]!;
      this.i32[S_MASK] = this.regionMasks[region]!;
      this.i32[S_IN_REGION] = this.regionCounts[region]!;
    }
  }

  keyEnd(entry: number): number {
    return this.i32[(this.i32[S_ENTRIES]! >> 2) + entry * STRIDE + KEY_END]!;
  }

  /** A base entry's line start; -1 for a vendor line's entry. */
  lineStart(entry: number): number {
    return this.i32[(this.i32[S_ENTRIES]! >> 2) + entry * STRIDE + LINE_START]!;
  }

  claimedBy(entry: number): number {
    return this.i32[(this.i32[S_ENTRIES]! >> 2) + entry * STRIDE + CLAIMED_BY]!;
  }

  /** The base bytes grew: `base` holds the old ones as its prefix, and more lines after them. */
  rebase(base: Buffer): void {
    const b = this.place(base);
    this.i32[S_B] = b;
  }

  /** Runs a pass of the module over [from, to): its outcome (an event, or PASS_DONE). */
  pass(run: 'readBase' | 'claimVendor', from: number, to: number): number {
    this.i32[S_POS] = from;
    this.i32[S_TO] = to;
    return this.resume(run);
  }

  /** Runs the pass on from where its last event left it, making room first when it asked. */
  resume(run: 'readBase' | 'claimVendor'): number {
    for (;;) {
      const outcome = this.m[run]();
      if (outcome === ENTRIES_FULL) this.moveEntries();
      else if (outcome === TABLE_FULL) this.growTable();
      else return outcome;
    }
  }

  /** A field of the last event (S_EV_*), or of the state. */
  event(field: number): number {
    return this.i32[field]!;
  }

  /** Counts added up by the vendor passes since the last call: [vendorValid, matched]. */
  takeCounts(): [number, number] {
    const counts: [number, number] = [this.i32[S_VENDOR_VALID]!, this.i32[S_MATCHED]!];
    this.i32[S_VENDOR_VALID] = 0;
    this.i32[S_MATCHED] = 0;
    return counts;
  }

  /** The instance goes back to the thread's pool (the shard is done with it). */
  release(): void {
    idleInstances.push(this.m);
  }

  private moveEntries(): void {
    const capacity = 2 * this.i32[S_ENTRY_CAP]!;
    const old = this.i32[S_ENTRIES]!;
    const moved = this.alloc(capacity * STRIDE * 4);
    this.u8.copyWithin(moved, old, old + this.i32[S_COUNT]! * STRIDE * 4);
    this.i32[S_ENTRIES] = moved;
    this.i32[S_ENTRY_CAP] = capacity;
  }

  private growTable(): void {
    const capacity = 2 * (this.i32[S_MASK]! + 1);
    this.m.rehash(this.table(capacity), capacity - 1);
  }

  /** A zeroed table of `capacity` slots. */
  private table(capacity: number): number {
    const at = this.alloc(capacity * 8);
    this.u8.fill(0, at, at + capacity * 8);
    return at;
  }

  /** `bytes` copied into the memory (and room after them); where they start. */
  private place(bytes: Uint8Array): number {
    const at = this.alloc(bytes.length + PAD);
    this.u8.set(bytes, at);
    this.u8.fill(0, at + bytes.length, at + bytes.length + PAD);
    return at;
  }

  private alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 8) * 8;
    const memory = this.m.memory;
    if (reserveWasmMemory(memory, this.top)) {
      this.u8 = new Uint8Array(memory.buffer);
      this.i32 = new Int32Array(memory.buffer);
    }
    return at;
  }
}

/** CLAIMED_BY of the vendor line `linha`: linha + 1, an int32 as `linha_arquivo` is (RULES §6). */
function claimOf(linha: number): number {
  if (linha >= 0x7fffffff) {
    throw new ReconError('INTERNAL', `line ${linha} is past the int32 line numbers of linha_arquivo`);
  }
  return linha + 1;
}

/** The record of the encoded line [start, end) of `bytes`. */
function decodeAt(bytes: Buffer, start: number, end: number): ShardRecord {
  return decodeShardLine(bytes.toString('utf8', start, end));
}

/** A shard's outputs while it is classified. */
interface ShardState {
  B: Buffer;
  readonly V: Buffer;
  readonly orders: Orders;
  readonly counts: ShardCounts;
  readonly divergences: DivergenceLog;
  readonly baseDuplicates: RejectedLine[];
  readonly vendorDuplicates: DuplicateLine[];
  /**
   * Vendor lines no base line matched, two int32s each (the line's start, its order's entry):
   * TIPO_1 unless a base line looked up by id turns up (`ShardMatch.finish`).
   */
  unmatched: Int32Array;
  unmatchedCount: number;
}

/**
 * Classifies one shard (RULES §4–§5). Pure: plain data in, plain data out.
 * Records stay encoded bytes: an order whose two lines agree from `fornecedor_id` on is equal in
 * every field, so only divergent orders are decoded — most of a day is one table lookup and a
 * byte comparison. The base is read first (the first line of an order wins, later ones are base
 * duplicates); then each vendor line claims its order (a later vendor line of a claimed order is
 * a duplicate); base orders left unclaimed are TIPO_2 when in scope.
 *
 * Each pass is its own function, and what is rare (duplicates, divergences) is out of line: the
 * passes are optimized as whole functions, not by on-stack replacement of one large function that
 * deoptimized each time a shard first took a rare branch (the first shards of a job ran ~3× slower).
 */
export function classifyShard(input: ShardInput): ShardOutput {
  return matchShard(input).finish(null, []);
}

/**
 * A shard whose vendor lines have claimed their orders in its base slices. The vendor orders no
 * base line matched are TIPO_1 only once `finish` is given the base lines looked up for them (when
 * the base slices hold only the window: RULES §5 also takes every base row of an order of the file).
 */
export interface ShardMatch {
  /**
   * The regions the shard was matched in (a power of two): its slices' buckets, or fewer when
   * the slices have different numbers of them (buckets nest).
   */
  readonly regions: number;
  /** The `ordem_id`s of the vendor orders no base line matched, in file order within each region. */
  unmatchedOrders(): string[];
  /**
   * Classifies the rest. `found`: base lines (shard format, whole lines) of unmatched orders,
   * looked up by id, one buffer per region (a `ShardWriter` of one shard in `regions` buckets
   * lays them out so); `rejects`: looked-up rows that broke a rule (reported as base rejects).
   */
  finish(found: readonly Uint8Array[] | null, rejects: readonly RejectedLine[]): ShardOutput;
}

/** Reads the shard's base slices and lets each vendor line claim its order (see `classifyShard`). */
export function matchShard(input: ShardInput): ShardMatch {
  const binary = input.binary === true;
  const fewest = Math.min(
    fewestBuckets(input.vendor, input.vendorBuckets),
    fewestBuckets(input.base, input.baseBuckets),
  );
  const regions = fewest === Number.POSITIVE_INFINITY ? 1 : fewest;
  const base = joinRegions(input.base, input.baseBuckets, regions, binary);
  const vendor = joinRegions(input.vendor, input.vendorBuckets, regions, binary);
  const B = base.bytes;
  const V = vendor.bytes;
  const state: ShardState = {
    B,
    V,
    // Lines take ~60 bytes: a first guess of the orders' count (the tables grow when needed).
    orders: new Orders(B, V, (B.length + V.length) >> 6, regions),
    counts: emptyCounts(),
    divergences: new DivergenceLog(V, B, {
      jobId: input.jobId,
      timestamp: input.timestamp,
      severity: input.severity,
    }),
    baseDuplicates: [],
    vendorDuplicates: [],
    unmatched: new Int32Array(2 * 256),
    unmatchedCount: 0,
  };
  // Region by region: its base lines into its table, then its vendor lines claim their orders.
  for (let r = 0; r < regions; r++) {
    const bFrom = base.starts[r]!;
    const bTo = base.starts[r + 1]!;
    const vFrom = vendor.starts[r]!;
    const vTo = vendor.starts[r + 1]!;
    state.orders.enter(r, (bTo - bFrom + vTo - vFrom) >> 6);
    readBase(state, bFrom, bTo);
    claimVendor(state, vFrom, vTo);
  }
  let finished = false;
  return {
    regions,
    unmatchedOrders: () => unmatchedOrders(state),
    finish(found, rejects) {
      if (finished) throw new ReconError('INTERNAL', 'a shard match was finished twice');
      finished = true;
      try {
        if (found !== null) readFound(state, found);
        state.baseDuplicates.push(...rejects);
        settleUnmatched(state);
        // Base rows no vendor record matched: TIPO_2 when in scope (RULES §5).
        if (input.scope === 'all' || input.window !== null)
          unclaimedBase(state, input.scope === 'all' ? null : input.window);
      } finally {
        state.orders.release();
      }
      const { counts } = state;
      counts.distinctOrders = counts.vendorValid + counts.baseInScope - counts.matched;
      return {
        divergences: state.divergences.finish(counts),
        vendorDuplicates: state.vendorDuplicates,
        baseDuplicates: state.baseDuplicates,
        counts,
      };
    },
  };
}

/**
 * The base lines [from, to) into the table (the module's `readBase`); a later line of an order
 * already there is a base duplicate. A line found after the vendor lines were read (`readFound`)
 * may be the order of a vendor line no base line had matched: it attaches to that line's entry.
 */
function readBase(state: ShardState, from: number, to: number): void {
  const { orders } = state;
  for (let outcome = orders.pass('readBase', from, to); outcome !== PASS_DONE; ) {
    if (outcome !== BASE_DUPLICATE) throw unexpected('readBase', outcome);
    baseDuplicate(state, orders.event(S_EV_ENTRY), orders.event(S_EV_POS), orders.event(S_EV_END));
    outcome = orders.resume('readBase');
  }
}

function baseDuplicate(state: ShardState, first: number, pos: number, end: number): void {
  const b = decodeAt(state.B, pos, end);
  const firstLinha = parseLinha(state.B, state.orders.lineStart(first));
  state.counts.baseDuplicates++;
  state.baseDuplicates.push({
    linha: b.linha,
    motivo: 'DUPLICATE_ORDEM_ID',
    mensagem: `ordem_id ${b.ordem_id} repetido na base${firstLinha > 0 ? ` (primeira ocorrência na linha ${firstLinha})` : ''}; conteúdo normalizado`,
    conteudo: `${b.fornecedor_id};${b.ordem_id};${b.nome};${b.ativo_id};${b.data};${b.valor}`,
  });
}

/**
 * Each vendor line of [from, to) claims its order (the module's `claimVendor`): a duplicate when
 * another line claimed it, TIPO_1 when the base lacks it, else compared with the base line (equal
 * bytes from `fornecedor_id` on: no row).
 */
function claimVendor(state: ShardState, from: number, to: number): void {
  const { orders, counts } = state;
  for (let outcome = orders.pass('claimVendor', from, to); outcome !== PASS_DONE; ) {
    const pos = orders.event(S_EV_POS);
    if (outcome === VENDOR_DUPLICATE)
      vendorDuplicate(state, orders.event(S_EV_ENTRY), orders.event(S_EV_LINHA), pos, orders.event(S_EV_END));
    else if (outcome === UNMATCHED) unmatchedLine(state, pos, orders.event(S_EV_ENTRY));
    else if (outcome === DIFFERS) fieldsDiffer(state, orders.event(S_EV_ENTRY), pos);
    else if (outcome === LINHA_TOO_LARGE) claimOf(parseLinha(state.V, pos));
    else throw unexpected('claimVendor', outcome);
    outcome = orders.resume('claimVendor');
  }
  const [vendorValid, matched] = orders.takeCounts();
  counts.vendorValid += vendorValid;
  counts.matched += matched;
  counts.baseInScope += matched;
}

function unexpected(pass: string, outcome: number): ReconError {
  return new ReconError('INTERNAL', `the shard matcher's ${pass} pass stopped with ${outcome}`);
}

/** A vendor line [pos, end) whose order another line claimed. */
function vendorDuplicate(state: ShardState, seen: number, linha: number, pos: number, end: number): void {
  state.counts.vendorDuplicates++;
  state.vendorDuplicates.push({
    linha,
    motivo: 'DUPLICATE_ORDEM_ID',
    mensagem: `ordem_id ${decodeAt(state.V, pos, end).ordem_id} repetido (primeira ocorrência na linha ${state.orders.claimedBy(seen) - 1}, que foi conciliada)`,
    conteudo: null,
  });
}

/** The vendor line at `pos` (its order `entry`, just added) has no base line yet. */
function unmatchedLine(state: ShardState, pos: number, entry: number): void {
  if (2 * (state.unmatchedCount + 1) > state.unmatched.length) {
    const grown = new Int32Array(2 * state.unmatched.length);
    grown.set(state.unmatched);
    state.unmatched = grown;
  }
  state.unmatched[2 * state.unmatchedCount] = pos;
  state.unmatched[2 * state.unmatchedCount + 1] = entry;
  state.unmatchedCount++;
}

function unmatchedOrders(state: ShardState): string[] {
  const { V, unmatched } = state;
  const ids: string[] = new Array(state.unmatchedCount);
  for (let i = 0; i < state.unmatchedCount; i++) {
    const t1 = nextTab(V, unmatched[2 * i]!);
    ids[i] = decodeField(V, t1 + 1, nextTab(V, t1 + 1));
  }
  return ids;
}

/**
 * Base lines looked up for unmatched orders, after the shard's base: each attaches to the vendor
 * line's order that asked for it (a second line of an order is a base duplicate; a line no vendor
 * line asked for is a base order like any other).
 */
function readFound(state: ShardState, found: readonly Uint8Array[]): void {
  if (found.length !== state.orders.regions) {
    throw new ReconError(
      'INTERNAL',
      `looked-up base lines came in ${found.length} buckets for a shard matched in ${state.orders.regions} regions`,
    );
  }
  // Group 0: the shard's base lines; group r + 1: region r's found lines.
  const { bytes: B, starts } = joinGroups([[state.B], ...found.map((lines) => [lines])]);
  if (B.length === state.B.length) return;
  state.B = B;
  state.orders.rebase(B);
  state.divergences.rebase(B);
  for (let r = 0; r < found.length; r++) {
    const from = starts[r + 1]!;
    const to = starts[r + 2]!;
    if (to === from) continue;
    state.orders.enter(r, (to - from) >> 6);
    readBase(state, from, to);
  }
}

/** Each unmatched vendor line: compared with the base line looked up for it, else TIPO_1. */
function settleUnmatched(state: ShardState): void {
  const { B, V, orders, counts, unmatched } = state;
  for (let i = 0; i < state.unmatchedCount; i++) {
    const pos = unmatched[2 * i]!;
    const entry = unmatched[2 * i + 1]!;
    const baseLine = orders.lineStart(entry);
    if (baseLine < 0) {
      counts.divergentOrders++;
      state.divergences.missingInBase(pos);
      continue;
    }
    counts.matched++;
    counts.baseInScope++;
    // From fornecedor_id on, as claimVendor compares them.
    const v = nextTab(V, nextTab(V, pos) + 1) + 1;
    const b = orders.keyEnd(entry) + 1;
    if (!sameBytes(V, v, lineEnd(V, v), B, b, lineEnd(B, b))) fieldsDiffer(state, entry, pos);
  }
}

/** The vendor line at `pos` and the base line of entry `seen` differ: one TIPO_3 row per differing field. */
function fieldsDiffer(state: ShardState, seen: number, pos: number): void {
  if (state.divergences.fieldsDiffer(pos, state.orders.lineStart(seen))) state.counts.divergentOrders++;
}

/**
 * TIPO_2: base orders no vendor line claimed, in scope (`window` null: every date). Most are
 * history out of the window: their date is compared as bytes (ISO dates compare as their text does).
 */
function unclaimedBase(state: ShardState, window: DateWindow | null): void {
  const { B, orders, counts } = state;
  const from = window === null ? null : Buffer.from(window.from, 'latin1');
  const to = window === null ? null : Buffer.from(window.to, 'latin1');
  for (let entry = 0; entry < orders.count; entry++) {
    if (orders.lineStart(entry) < 0 || orders.claimedBy(entry) !== 0) continue;
    // data is the fourth field after ordem_id.
    let dataStart = orders.keyEnd(entry) + 1;
    for (let field = 0; field < 3; field++) dataStart = nextTab(B, dataStart) + 1;
    const dataEnd = nextTab(B, dataStart);
    if (
      window !== null &&
      (compareUtf8(B, dataStart, dataEnd, from!, 0, from!.length) < 0 ||
        compareUtf8(B, dataStart, dataEnd, to!, 0, to!.length) > 0)
    )
      continue;
    counts.baseInScope++;
    counts.divergentOrders++;
    state.divergences.missingInFile(orders.lineStart(entry));
  }
}

export function emptyCounts(): ShardCounts {
  return {
    vendorValid: 0,
    vendorDuplicates: 0,
    baseInScope: 0,
    baseDuplicates: 0,
    matched: 0,
    divergentOrders: 0,
    distinctOrders: 0,
    rows: 0,
    byType: Object.fromEntries(TIPOS.map((t) => [t, 0])) as Record<TipoDivergencia, number>,
    bySeverity: Object.fromEntries(SEVERIDADES.map((s) => [s, 0])) as Record<Severidade, number>,
    bySupplier: {},
  };
}
