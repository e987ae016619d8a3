/**
 * The shards' results as a report reads them: every result once, for its sort keys (the merged
 * output order) and its duplicates; then, part by part, the rows of a range of that order.
 *
 * Memory stays bounded by what a part holds, not by the day: results are kept after the first
 * read only up to `heldBytes` (a small day keeps them all and reads each once); the others are
 * read again when a part needs their rows, and only the rows of that part are copied out of them.
 * The rows of one shard in a range of the merged order are a run of that shard's rows (each
 * shard's result is sorted), so a part copies one run per shard.
 */
import { divergenceCopyRows } from '@recon/adapters/read-model/copy-rows';
import {
  type DivergenceColumns,
  type ObjectStore,
  type RejectedLine,
  SHARD_TEXT_COLUMNS,
  type TextColumnData,
  type TextColumnName,
} from '@recon/contracts';
import { mergeOrder, sortKeyTexts } from './merge.ts';
import { decodeShardResult, type ShardResult } from './shard-result.ts';

/** Rows of the output order, from column-held sources: row k is row `at[k]` of `sources[list[k]]`. */
export interface OrderedRows {
  sources: DivergenceColumns[];
  list: Int32Array;
  at: Int32Array;
}

export interface ShardResults {
  /** The merged output order of every row: row k is row `at[k]` of shard `list[k]`'s result. */
  readonly order: { readonly list: Int32Array; readonly at: Int32Array };
  readonly vendorDuplicates: ShardResult['vendorDuplicates'];
  readonly baseDuplicates: RejectedLine[];
  /** Rows [from, to) of the output order; each source holds those rows of its shard, or more. */
  rows(from: number, to: number): Promise<OrderedRows>;
}

export interface ReadResultsOptions {
  /** Bytes of results kept in memory after their first read (the first results, in shard order). */
  heldBytes: number;
  /** Results read ahead of the one being decoded (object store latency, S3 in particular). */
  readAhead?: number;
}

/** Reads every shard's result once (see the module comment). `keys[s]`: shard s's result. */
export async function readShardResults(
  store: ObjectStore,
  keys: readonly string[],
  options: ReadResultsOptions,
): Promise<ShardResults> {
  const readAhead = options.readAhead ?? 8;
  const held: (DivergenceColumns | null)[] = new Array(keys.length).fill(null);
  const tipos: string[][] = [];
  const ordens: string[][] = [];
  const vendorDuplicates: ShardResult['vendorDuplicates'] = [];
  const baseDuplicates: RejectedLine[] = [];
  let heldBytes = 0;
  await eachBody(store, keys, readAhead, (body, s) => {
    const result = decodeShardResult(body, keys[s]!);
    const { divergences } = result;
    tipos.push(sortKeyTexts(divergences.text.tipo_divergencia, divergences.rows));
    ordens.push(sortKeyTexts(divergences.text.ordem_id, divergences.rows));
    vendorDuplicates.push(...result.vendorDuplicates);
    baseDuplicates.push(...result.baseDuplicates);
    if (heldBytes + body.byteLength <= options.heldBytes) {
      held[s] = divergences;
      heldBytes += body.byteLength;
    }
  });
  const order = mergeOrder(tipos, ordens);
  tipos.length = 0;
  ordens.length = 0;

  async function rows(from: number, to: number): Promise<OrderedRows> {
    const { list, at } = order;
    // Each shard's run of rows in [from, to): [first[s], end[s]).
    const first = new Int32Array(keys.length).fill(-1);
    const end = new Int32Array(keys.length);
    for (let k = from; k < to; k++) {
      const s = list[k]!;
      if (first[s] === -1) first[s] = at[k]!;
      end[s] = at[k]! + 1;
    }
    const sources: DivergenceColumns[] = held.map((h) => h ?? EMPTY);
    // Where each source's rows start in its shard's result: 0 for a whole result.
    const startOf = new Int32Array(keys.length);
    const wanted: number[] = [];
    for (let s = 0; s < keys.length; s++) if (held[s] === null && first[s] !== -1) wanted.push(s);
    await eachBody(
      store,
      wanted.map((s) => keys[s]!),
      readAhead,
      (body, w) => {
        const s = wanted[w]!;
        const { divergences } = decodeShardResult(body, keys[s]!);
        sources[s] = copyRows(divergences, first[s]!, end[s]!);
        startOf[s] = first[s]!;
      },
    );
    const ranged = new Int32Array(to - from);
    for (let k = from; k < to; k++) ranged[k - from] = at[k]! - startOf[list[k]!]!;
    return { sources, list: list.subarray(from, to), at: ranged };
  }

  return { order, vendorDuplicates, baseDuplicates, rows };
}

/**
 * The read model's rows (COPY text, `divergenceCopyRows`) in the output order, `step` rows of it at
 * a time: only those rows' results are held at once. `dt`: the job's reference date.
 */
export async function* readModelRows(
  results: ShardResults,
  dt: string,
  step: number,
): AsyncGenerator<Uint8Array> {
  const total = results.order.list.length;
  for (let from = 0; from < total; from += step) {
    const to = Math.min(total, from + step);
    const rows = await results.rows(from, to);
    yield* divergenceCopyRows(rows.sources, rows, dt, from);
  }
}

/**
 * Calls `use(body, i)` for each key in order, with up to `readAhead` reads under way: only the
 * bodies read ahead and the one in use are held at once.
 */
async function eachBody(
  store: ObjectStore,
  keys: readonly string[],
  readAhead: number,
  use: (body: Uint8Array, index: number) => void,
): Promise<void> {
  const reads: (Promise<Uint8Array> | undefined)[] = new Array(keys.length);
  let next = 0;
  try {
    for (let i = 0; i < keys.length; i++) {
      while (next < keys.length && next <= i + readAhead) {
        const read = store.get(keys[next]!);
        // Awaited in turn below; a failure before its turn must not be an unhandled rejection.
        read.catch(() => {});
        reads[next++] = read;
      }
      const body = await reads[i]!;
      reads[i] = undefined;
      use(body, i);
    }
  } finally {
    reads.fill(undefined);
  }
}

/** Rows [from, to) of `columns`, copied: nothing of the source is kept. */
export function copyRows(columns: DivergenceColumns, from: number, to: number): DivergenceColumns {
  const n = to - from;
  const text = {} as Record<TextColumnName, TextColumnData>;
  for (const name of SHARD_TEXT_COLUMNS) {
    const column = columns.text[name];
    const start = column.offsets[from]!;
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) offsets[i] = column.offsets[from + i]! - start;
    text[name] = {
      offsets,
      bytes: Buffer.from(column.bytes.subarray(start, column.offsets[to]!)),
      nulls: copyOf(column.nulls, from, to),
    };
  }
  return {
    rows: n,
    text,
    linhaArquivo: columns.linhaArquivo.slice(from, to),
    linhaArquivoNulls: copyOf(columns.linhaArquivoNulls, from, to),
    timestamp: columns.timestamp.slice(from, to),
  };
}

/**
 * Bytes [from, to) of `bytes`, copied (`slice` of a Buffer, as the decoded results' byte sections
 * are, would be a view keeping the whole result).
 */
function copyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(bytes.subarray(from, to));
}

const NO_TEXT: TextColumnData = {
  offsets: new Int32Array(1),
  bytes: Buffer.alloc(0),
  nulls: new Uint8Array(0),
};

/** A source no row of a range comes from. */
const EMPTY: DivergenceColumns = {
  rows: 0,
  text: Object.fromEntries(SHARD_TEXT_COLUMNS.map((name) => [name, NO_TEXT])) as Record<
    TextColumnName,
    TextColumnData
  >,
  linhaArquivo: new Float64Array(0),
  linhaArquivoNulls: new Uint8Array(0),
  timestamp: new Float64Array(0),
};
