// AssemblyScript (https://www.assemblyscript.org), compiled to WebAssembly by `pnpm build:wasm`
// into ../src/wasm/shard-matcher.wasm.ts.
//
// The matcher's table of orders and its two hot passes (../src/classify.ts: `readBase`, then
// `claimVendor`): the base lines of a region into the region's open-addressing table, keyed on
// the bytes of their encoded `ordem_id`, then each vendor line claiming its order and compared
// with its base line four bytes at a time. What is rare stops the pass with an event for the
// caller (a duplicate, a vendor line no base line matched, a line that differs), which does its
// bookkeeping in TypeScript and runs the pass again: it goes on after that line. Nothing here
// allocates: the caller lays out the bytes and the tables (STATE says where), and grows them when
// a pass asks (ENTRIES_FULL, TABLE_FULL).

const STATE: i32 = 0;

// STATE fields (int32 indexes).
const S_B = 0; // in: where the base bytes start (a base offset k is at S_B + k)
const S_V = 1; // in: where the vendor bytes start
const S_ENTRIES = 2; // in: the entries, STRIDE int32s each
const S_ENTRY_CAP = 3; // in: how many entries fit
const S_COUNT = 4; // in/out: entries
const S_SLOTS = 5; // in: the current region's table: two int32s per slot (hash, entry + 1)
const S_MASK = 6; // in: its slots - 1
const S_IN_REGION = 7; // in/out: entries keyed in it
const S_POS = 8; // in/out: where the pass goes on
const S_TO = 9; // in: where the pass ends
const S_VENDOR_VALID = 10; // out: added up by claimVendor
const S_MATCHED = 11; // out: added up by claimVendor
const S_EV_POS = 12; // out: the event's line start
const S_EV_END = 13; // out: its line break
const S_EV_ENTRY = 14; // out: the order's entry
const S_EV_LINHA = 15; // out: the vendor line's linha

const DONE = 0;
/** A base line of an order already read: S_EV_ENTRY is its first line's. */
const BASE_DUPLICATE = 1;
/** A vendor line of an order another vendor line claimed (S_EV_ENTRY). */
const VENDOR_DUPLICATE = 2;
/** A vendor line no base line matched: its order is the entry just added (S_EV_ENTRY). */
const UNMATCHED = 3;
/** A vendor line whose base line (S_EV_ENTRY) differs from fornecedor_id on. */
const DIFFERS = 4;
/** No room for another entry: the caller moves them (moveEntries) and runs the pass again. */
const ENTRIES_FULL = 5;
/** The region's table is half full: the caller gives it a larger one (rehash) and runs again. */
const TABLE_FULL = 6;
/** A vendor linha of 2^31 - 1 or more (linha_arquivo is an int32: RULES §6). */
const LINHA_TOO_LARGE = 7;

/** Fields of an entry (int32s). */
const KEY_START = 0;
const KEY_END = 1;
/** The base line's start; -1: the key is a vendor line's (no base line matched it yet). */
const LINE_START = 2;
/** The vendor linha + 1 of the line that claimed the order; 0 while none did. */
const CLAIMED_BY = 3;
const STRIDE = 4;

const TAB = 9;
const LF = 10;
const LF_WORD: u32 = 0x0a0a0a0a;

function state(field: i32): i32 {
  return load<i32>(STATE + (field << 2));
}

function setState(field: i32, value: i32): void {
  store<i32>(STATE + (field << 2), value);
}

function entryField(entry: i32, field: i32): i32 {
  return load<i32>(state(S_ENTRIES) + ((entry * STRIDE + field) << 2));
}

function setEntryField(entry: i32, field: i32, value: i32): void {
  store<i32>(state(S_ENTRIES) + ((entry * STRIDE + field) << 2), value);
}

function nextTab(from: i32): i32 {
  let k = from;
  while (load<u8>(k) !== TAB) k++;
  return k;
}

function lineEnd(from: i32): i32 {
  let k = from;
  while (load<u8>(k) !== LF) k++;
  return k;
}

/** A well-mixed hash of bytes [start, end) (absolute addresses): words mixed in, murmur3's finalizer. */
function hashBytes(start: i32, end: i32): u32 {
  let h: u32 = <u32>(end - start);
  let k = start;
  for (; k <= end - 4; k += 4) h = (h ^ load<u32>(k)) * 0x9e3779b1;
  for (; k < end; k++) h = (h ^ <u32>load<u8>(k)) * 0x9e3779b1;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}

/** `hashBytes` of bytes [start, end) (the tests check that ../src/testing.ts's is the same). */
export function hash(start: i32, end: i32): u32 {
  return hashBytes(start, end);
}

/** Where the last `find` that found nothing stopped (the slot `add` takes). */
let lastSlot = 0;

/** The entry whose key equals bytes [start, end) (absolute), else -1. */
function find(start: i32, end: i32, hash: u32): i32 {
  const slots = state(S_SLOTS);
  const mask = state(S_MASK);
  const B = state(S_B);
  const V = state(S_V);
  let slot = <i32>(hash & <u32>mask);
  let entry = load<i32>(slots + (slot << 3) + 4) - 1;
  while (entry >= 0) {
    if (load<u32>(slots + (slot << 3)) === hash && sameKey(entry, B, V, start, end)) return entry;
    slot = (slot + 1) & mask;
    entry = load<i32>(slots + (slot << 3) + 4) - 1;
  }
  lastSlot = slot;
  return -1;
}

/** Whether the key of `entry` is bytes [start, end). */
function sameKey(entry: i32, B: i32, V: i32, start: i32, end: i32): bool {
  const length = end - start;
  const ks = entryField(entry, KEY_START);
  if (entryField(entry, KEY_END) - ks !== length) return false;
  const key = (entryField(entry, LINE_START) < 0 ? V : B) + ks;
  let k = 0;
  while (k <= length - 4 && load<u32>(key + k) === load<u32>(start + k)) k += 4;
  while (k < length && load<u8>(key + k) === load<u8>(start + k)) k++;
  return k === length;
}

/** Whether an entry can be added (else the status that asks for room). */
function roomToAdd(): i32 {
  if (state(S_COUNT) >= state(S_ENTRY_CAP)) return ENTRIES_FULL;
  if ((state(S_IN_REGION) + 1) * 2 >= state(S_MASK) + 1) return TABLE_FULL;
  return DONE;
}

/** Adds an entry in the slot the last `find` stopped at. */
function add(keyStart: i32, keyEnd: i32, hash: u32, lineStart: i32, claimedBy: i32): i32 {
  const entry = state(S_COUNT);
  setState(S_COUNT, entry + 1);
  setEntryField(entry, KEY_START, keyStart);
  setEntryField(entry, KEY_END, keyEnd);
  setEntryField(entry, LINE_START, lineStart);
  setEntryField(entry, CLAIMED_BY, claimedBy);
  const at = state(S_SLOTS) + (lastSlot << 3);
  store<u32>(at, hash);
  store<i32>(at + 4, entry + 1);
  setState(S_IN_REGION, state(S_IN_REGION) + 1);
  return entry;
}

/**
 * The base lines [S_POS, S_TO) (base offsets) into the region's table: a new order is added, a
 * vendor order's entry gets its base line, a later line of an order is a BASE_DUPLICATE.
 */
export function readBase(): i32 {
  const B = state(S_B);
  let pos = state(S_POS);
  const to = state(S_TO);
  while (pos < to) {
    if (load<u8>(B + pos) === LF) {
      pos++;
      continue;
    }
    const t1 = nextTab(B + pos) - B;
    const t2 = nextTab(B + t1 + 1) - B;
    const end = lineEnd(B + t2 + 1) - B;
    const hash = hashBytes(B + t1 + 1, B + t2);
    const first = find(B + t1 + 1, B + t2, hash);
    if (first < 0) {
      const room = roomToAdd();
      if (room !== DONE) {
        setState(S_POS, pos);
        return room;
      }
      add(t1 + 1, t2, hash, pos, 0);
    } else if (entryField(first, LINE_START) < 0) {
      setEntryField(first, KEY_START, t1 + 1);
      setEntryField(first, KEY_END, t2);
      setEntryField(first, LINE_START, pos);
    } else {
      setState(S_EV_POS, pos);
      setState(S_EV_END, end);
      setState(S_EV_ENTRY, first);
      setState(S_POS, end + 1);
      return BASE_DUPLICATE;
    }
    pos = end + 1;
  }
  setState(S_POS, pos);
  return DONE;
}

/**
 * The vendor lines [S_POS, S_TO) (vendor offsets) claim their orders: a line whose order another
 * claimed is a VENDOR_DUPLICATE, one without a base line is UNMATCHED (its order added), one
 * equal to its base line from fornecedor_id on is counted, one that is not DIFFERS.
 */
export function claimVendor(): i32 {
  const B = state(S_B);
  const V = state(S_V);
  let pos = state(S_POS);
  const to = state(S_TO);
  while (pos < to) {
    if (load<u8>(V + pos) === LF) {
      pos++;
      continue;
    }
    let linha: i64 = 0;
    let t1 = V + pos;
    for (let c = load<u8>(t1); c !== TAB; c = load<u8>(++t1)) {
      linha = linha * 10 + <i64>(c - 48);
      if (linha >= 0x7fffffff) {
        setState(S_EV_POS, pos);
        setState(S_POS, pos);
        return LINHA_TOO_LARGE;
      }
    }
    t1 -= V;
    const t2 = nextTab(V + t1 + 1) - V;
    const hash = hashBytes(V + t1 + 1, V + t2);
    const seen = find(V + t1 + 1, V + t2, hash);
    if (seen >= 0 && entryField(seen, CLAIMED_BY) !== 0) {
      const end = lineEnd(V + t2 + 1) - V;
      setState(S_EV_POS, pos);
      setState(S_EV_END, end);
      setState(S_EV_ENTRY, seen);
      setState(S_EV_LINHA, <i32>linha);
      setState(S_POS, end + 1);
      return VENDOR_DUPLICATE;
    }
    if (seen < 0) {
      const room = roomToAdd();
      if (room !== DONE) {
        setState(S_POS, pos);
        return room;
      }
      setState(S_VENDOR_VALID, state(S_VENDOR_VALID) + 1);
      const entry = add(t1 + 1, t2, hash, -1, <i32>linha + 1);
      const end = lineEnd(V + t2 + 1) - V;
      setState(S_EV_POS, pos);
      setState(S_EV_END, end);
      setState(S_EV_ENTRY, entry);
      setState(S_EV_LINHA, <i32>linha);
      setState(S_POS, end + 1);
      return UNMATCHED;
    }
    setState(S_VENDOR_VALID, state(S_VENDOR_VALID) + 1);
    setEntryField(seen, CLAIMED_BY, <i32>linha + 1);
    setState(S_MATCHED, state(S_MATCHED) + 1);
    // Same key: the rest of the lines (from fornecedor_id on) start just after it in both,
    // compared four bytes at a time while they agree and hold no line break, then byte by byte.
    let v = V + t2 + 1;
    let b = B + entryField(seen, KEY_END) + 1;
    for (;;) {
      const word = load<u32>(v);
      if (word !== load<u32>(b)) break;
      const x = word ^ LF_WORD;
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
      v += 4;
      b += 4;
    }
    let c = load<u8>(v);
    while (c === load<u8>(b) && c !== LF) {
      c = load<u8>(++v);
      b++;
    }
    if (c === LF && load<u8>(b) === LF) {
      pos = v - V + 1;
      continue;
    }
    const end = lineEnd(v) - V;
    setState(S_EV_POS, pos);
    setState(S_EV_END, end);
    setState(S_EV_ENTRY, seen);
    setState(S_POS, end + 1);
    return DIFFERS;
  }
  setState(S_POS, pos);
  return DONE;
}

/** The region's table into a larger one at `slots` (`mask + 1` slots, zeroed by the caller). */
export function rehash(slots: i32, mask: i32): void {
  const old = state(S_SLOTS);
  const oldSlots = state(S_MASK) + 1;
  for (let s = 0; s < oldSlots; s++) {
    const entry1 = load<i32>(old + (s << 3) + 4);
    if (entry1 === 0) continue;
    const hash = load<u32>(old + (s << 3));
    let slot = <i32>(hash & <u32>mask);
    while (load<i32>(slots + (slot << 3) + 4) !== 0) slot = (slot + 1) & mask;
    store<u32>(slots + (slot << 3), hash);
    store<i32>(slots + (slot << 3) + 4, entry1);
  }
  setState(S_SLOTS, slots);
  setState(S_MASK, mask);
}
