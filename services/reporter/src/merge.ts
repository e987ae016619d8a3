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
