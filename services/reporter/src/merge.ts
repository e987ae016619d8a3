import { compareDivergences, type DivergenceRow } from '@recon/contracts';

/** Merges lists each sorted by (tipo_divergencia, ordem_id) into one sorted list (k-way, binary heap). */
export function mergeSorted(lists: readonly (readonly DivergenceRow[])[]): DivergenceRow[] {
  const total = lists.reduce((n, l) => n + l.length, 0);
  const out: DivergenceRow[] = new Array(total);
  const heap: { list: number; at: number }[] = [];
  const less = (a: { list: number; at: number }, b: { list: number; at: number }) =>
    compareDivergences(lists[a.list]![a.at]!, lists[b.list]![b.at]!) < 0;
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  lists.forEach((l, list) => {
    if (l.length > 0) heap.push({ list, at: 0 });
  });
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  let k = 0;
  while (heap.length > 0) {
    const top = heap[0]!;
    out[k++] = lists[top.list]![top.at]!;
    top.at++;
    if (top.at >= lists[top.list]!.length) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) siftDown(0);
  }
  return out;
}

/**
 * mergeSorted for rows held as sort keys only: `tipos[l][i]` and `ordens[l][i]` are the
 * (tipo_divergencia, ordem_id) of row i of list l. Returns the merged order, row k being row
 * `at[k]` of list `list[k]`, the same order mergeSorted gives (same heap, same ties).
 */
export function mergeOrder(
  tipos: readonly (readonly string[])[],
  ordens: readonly (readonly string[])[],
): { list: Int32Array; at: Int32Array } {
  const total = tipos.reduce((n, l) => n + l.length, 0);
  const outList = new Int32Array(total);
  const outAt = new Int32Array(total);
  // heapList[h] / heapAt[h]: the list of heap entry h and its next row.
  const heapList: number[] = [];
  const heapAt: number[] = [];
  const less = (a: number, b: number): boolean => {
    const ta = tipos[heapList[a]!]![heapAt[a]!]!;
    const tb = tipos[heapList[b]!]![heapAt[b]!]!;
    if (ta !== tb) return ta < tb;
    const oa = ordens[heapList[a]!]![heapAt[a]!]!;
    const ob = ordens[heapList[b]!]![heapAt[b]!]!;
    return oa !== ob && oa < ob;
  };
  const siftDown = (i: number) => {
    const size = heapList.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === i) return;
      const sl = heapList[i]!;
      heapList[i] = heapList[m]!;
      heapList[m] = sl;
      const sa = heapAt[i]!;
      heapAt[i] = heapAt[m]!;
      heapAt[m] = sa;
      i = m;
    }
  };
  tipos.forEach((l, list) => {
    if (l.length > 0) {
      heapList.push(list);
      heapAt.push(0);
    }
  });
  for (let i = (heapList.length >> 1) - 1; i >= 0; i--) siftDown(i);
  let k = 0;
  while (heapList.length > 0) {
    const list = heapList[0]!;
    const at = heapAt[0]!;
    outList[k] = list;
    outAt[k++] = at;
    if (at + 1 >= tipos[list]!.length) {
      heapList[0] = heapList[heapList.length - 1]!;
      heapAt[0] = heapAt[heapAt.length - 1]!;
      heapList.pop();
      heapAt.pop();
    } else {
      heapAt[0] = at + 1;
    }
    if (heapList.length > 0) siftDown(0);
  }
  return { list: outList, at: outAt };
}
