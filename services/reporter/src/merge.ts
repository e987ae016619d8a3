import { type DivergenceColumns, sameBytes, type TextColumnData } from '@recon/contracts';

/** The output order of the rows of shard results (see mergeOrder), read from their sort-key columns. */
export function divergenceOrder(lists: readonly DivergenceColumns[]): { list: Int32Array; at: Int32Array } {
  return mergeOrder(
    lists.map((l) => sortKeyTexts(l.text.tipo_divergencia, l.rows)),
    lists.map((l) => sortKeyTexts(l.text.ordem_id, l.rows)),
  );
}

/**
 * The merged order of lists each sorted by (tipo_divergencia, ordem_id): `tipos[l][i]` and
 * `ordens[l][i]` are the keys of row i of list l. Row k of the result is row `at[k]` of list
 * `list[k]`. Equal keys keep list order (a stable sort of the lists one after another).
 *
 * A tournament (loser) tree: each row out costs one comparison per level (five for 32 shards, where
 * a binary heap takes two); a tipo, one of a few values, is compared by its rank among them.
 */
export function mergeOrder(
  tipos: readonly (readonly string[])[],
  ordens: readonly (readonly string[])[],
): { list: Int32Array; at: Int32Array } {
  const k = tipos.length;
  const total = tipos.reduce((n, l) => n + l.length, 0);
  const outList = new Int32Array(total);
  const outAt = new Int32Array(total);
  if (k === 0) return { list: outList, at: outAt };
  // Each row's tipo as its rank in the sorted set of tipos (same order as comparing the strings).
  const distinct = [...new Set(tipos.flatMap((l) => [...new Set(l)]))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const rankOf = new Map(distinct.map((t, r) => [t, r]));
  const ranks = tipos.map((l) => {
    const out = new Int32Array(l.length);
    for (let i = 0; i < l.length; i++) out[i] = rankOf.get(l[i]!)!;
    return out;
  });
  const length = Int32Array.from(tipos, (l) => l.length);
  const pos = new Int32Array(k);
  /** Whether the next row of list a goes before the next row of list b (an exhausted list never does). */
  const before = (a: number, b: number): boolean => {
    const i = pos[a]!;
    const j = pos[b]!;
    if (i >= length[a]!) return false;
    if (j >= length[b]!) return true;
    const ra = ranks[a]![i]!;
    const rb = ranks[b]![j]!;
    if (ra !== rb) return ra < rb;
    const oa = ordens[a]![i]!;
    const ob = ordens[b]![j]!;
    return oa < ob || (oa === ob && a < b);
  };
  // tree[n] (n in 1..k-1): the list that lost the match at internal node n; tree[0]: the winner.
  // Leaf of list l is node l + k; a node's parent is n >> 1.
  const tree = new Int32Array(k);
  const winner = new Int32Array(2 * k);
  for (let l = 0; l < k; l++) winner[l + k] = l;
  for (let n = k - 1; n >= 1; n--) {
    const a = winner[2 * n]!;
    const b = winner[2 * n + 1]!;
    if (before(b, a)) {
      winner[n] = b;
      tree[n] = a;
    } else {
      winner[n] = a;
      tree[n] = b;
    }
  }
  tree[0] = k === 1 ? 0 : winner[1]!;
  for (let out = 0; out < total; out++) {
    let top: number = tree[0]!;
    outList[out] = top;
    outAt[out] = pos[top]!++;
    // Replay the winner's path: at each node the stored loser takes over if it now goes first.
    for (let n = (top + k) >> 1; n >= 1; n >>= 1) {
      const other = tree[n]!;
      if (before(other, top)) {
        tree[n] = top;
        top = other;
      }
    }
    tree[0] = top;
  }
  return { list: outList, at: outAt };
}

/**
 * The n values of a sort-key column as strings (UTF-8 decoded, the strings the matcher wrote; a
 * null, which the encoder refuses later, sorts as ''). A value equal to the one before is shared.
 */
export function sortKeyTexts(column: TextColumnData, n: number): string[] {
  const out: string[] = new Array(n);
  const { bytes, offsets, nulls } = column;
  let last = '';
  let lastStart = 0;
  let lastEnd = 0;
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (nulls[i] === 1) {
      out[i] = '';
      continue;
    }
    if (!sameBytes(bytes, lastStart, lastEnd, bytes, start, end)) {
      last = bytes.toString('utf8', start, end);
      lastStart = start;
      lastEnd = end;
    }
    out[i] = last;
  }
  return out;
}
