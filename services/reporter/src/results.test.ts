import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFolderStore } from '@recon/adapters/embedded';
import {
  compareDivergences,
  type DivergenceColumns,
  type DivergenceRow,
  divergenceColumnsToRows,
  divergenceRowsToColumns,
  encodeShardResult,
  type ObjectStore,
  TIPOS,
} from '@recon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows, type OrderedRows, readModelRows, readShardResults } from './results.ts';

let dir: string;
let store: LocalFolderStore;
/** Each shard's rows, sorted as a matcher writes them. */
const shards: DivergenceRow[][] = [];
const keys: string[] = [];
/** Every row in the output order: sorted by (tipo, ordem_id), shards in order on ties. */
let ordered: DivergenceRow[];

function row(shard: number, i: number, random: () => number): DivergenceRow {
  const tipo = TIPOS[Math.floor(random() * TIPOS.length)]!;
  const missing = random() < 0.3;
  return {
    job_id: 'JOB-20261123-000001',
    tipo_divergencia: tipo,
    severidade: tipo === 'TIPO_1' ? 'HIGH' : 'MEDIUM',
    // Few distinct ids: equal keys within and across shards.
    ordem_id: `ORD-${Math.floor(random() * 60)}${random() < 0.2 ? 'ção' : ''}`,
    fornecedor_id: `F${shard}`,
    nome: `nome ${shard}/${i} ${'x'.repeat(Math.floor(random() * 20))}`,
    ativo_id: 'A',
    data: '2026-11-20',
    data_base: missing ? null : '2026-11-19',
    valor_csv: missing ? null : `${i}.00`,
    valor_base: '1.00',
    diferenca: missing ? null : `${i - 1}.00`,
    campo: missing ? null : 'valor',
    detalhes: `linha ${i} do shard ${shard}`,
    hash_linha: String(shard * 1000 + i).padStart(64, '0'),
    linha_arquivo: missing ? null : shard * 1000 + i,
    timestamp: 1_763_800_000_000 + i,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-results-'));
  store = new LocalFolderStore(dir);
  let seed = 11;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  // Shards of different sizes, one of them empty.
  const sizes = [40, 0, 75, 13, 60, 1, 52];
  for (let s = 0; s < sizes.length; s++) {
    const rows = Array.from({ length: sizes[s]! }, (_, i) => row(s, i, random)).sort(compareDivergences);
    shards.push(rows);
    keys.push(`work/results/shard-${s}.rsr`);
    await store.put(
      keys[s]!,
      encodeShardResult({
        divergences: divergenceRowsToColumns(rows),
        vendorDuplicates: [{ linha: s, motivo: 'DUPLICATE_ORDEM_ID', mensagem: `dup ${s}`, conteudo: null }],
        baseDuplicates: [],
        counts: {} as never,
      }),
    );
  }
  // Array.prototype.sort is stable: on equal keys, shard order, then row order.
  ordered = shards.flat().sort(compareDivergences);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The store, with each body it hands out and the keys read, in order. */
function recording(): { store: ObjectStore; reads: string[]; bodies: ArrayBufferLike[] } {
  const reads: string[] = [];
  const bodies: ArrayBufferLike[] = [];
  const recorded = Object.create(store) as ObjectStore;
  recorded.get = async (key: string) => {
    reads.push(key);
    const body = await store.get(key);
    bodies.push(body.buffer);
    return body;
  };
  return { store: recorded, reads, bodies };
}

/** The rows a part would write, as values. */
function rowsOf({ sources, list, at }: OrderedRows): DivergenceRow[] {
  const values = sources.map((s) => divergenceColumnsToRows(s));
  return Array.from(list, (l, k) => values[l]![at[k]!]!);
}

/** Every typed array of a source's columns. */
function arraysOf(c: DivergenceColumns): ArrayBufferView[] {
  return [
    ...Object.values(c.text).flatMap((t) => [t.offsets, t.bytes, t.nulls]),
    c.linhaArquivo,
    c.linhaArquivoNulls,
    c.timestamp,
  ];
}

const RANGES: [number, number][] = [
  [0, 241],
  [0, 1],
  [240, 241],
  [17, 90],
  [90, 91],
  [100, 100],
  [0, 0],
  [241, 241],
  [60, 181],
];

describe('readShardResults', () => {
  it('gives the rows of any range of the output order, whether results are held or read again', async () => {
    expect(ordered).toHaveLength(241);
    for (const heldBytes of [Number.POSITIVE_INFINITY, 0, 30_000]) {
      const results = await readShardResults(recording().store, keys, { heldBytes, readAhead: 2 });
      expect(results.order.list).toHaveLength(241);
      expect(results.vendorDuplicates.map((d) => d.mensagem)).toEqual(keys.map((_, s) => `dup ${s}`));
      for (const [from, to] of RANGES) {
        expect(rowsOf(await results.rows(from, to)), `${heldBytes}: rows [${from}, ${to})`).toEqual(
          ordered.slice(from, to),
        );
      }
    }
  });

  it('reads each result once when they are held', async () => {
    const r = recording();
    const results = await readShardResults(r.store, keys, { heldBytes: Number.POSITIVE_INFINITY });
    for (const [from, to] of RANGES) await results.rows(from, to);
    expect(r.reads).toEqual(keys);
  });

  it('past heldBytes, a range reads again only the results it has rows of, and copies out only those rows', async () => {
    const r = recording();
    const results = await readShardResults(r.store, keys, { heldBytes: 0 });
    expect(r.reads).toEqual(keys);
    const firstRead = r.bodies.length;
    // The first row only: one shard holds it.
    const one = await results.rows(0, 1);
    expect(r.reads.slice(keys.length)).toEqual([keys[results.order.list[0]!]]);
    expect(one.sources.reduce((n, s) => n + s.rows, 0)).toBe(1);
    const part = await results.rows(60, 181);
    expect(part.sources.reduce((n, s) => n + s.rows, 0)).toBe(121);
    // Nothing a part holds is a view of a result it read: each body can be freed once copied.
    const bodies = new Set(r.bodies.slice(firstRead));
    for (const source of [...one.sources, ...part.sources]) {
      for (const array of arraysOf(source)) expect(bodies.has(array.buffer)).toBe(false);
    }
  });

  it('fails with the store’s error when a result cannot be read, however far ahead it was read', async () => {
    const missing = [...keys.slice(0, 5), 'work/results/none.rsr', ...keys.slice(5)];
    for (const readAhead of [0, 3, 8]) {
      await expect(readShardResults(store, missing, { heldBytes: 0, readAhead })).rejects.toThrow(
        /none\.rsr|ENOENT/,
      );
    }
    // Read again by a range: the same error.
    const gone = `work/results/gone.rsr`;
    await store.put(gone, await store.get(keys[2]!));
    const results = await readShardResults(store, [gone], { heldBytes: 0 });
    await store.deletePrefix(gone);
    await expect(results.rows(0, 1)).rejects.toThrow(/gone\.rsr|ENOENT/);
  });
});

describe('readModelRows', () => {
  /** The COPY text of every row, concatenated. */
  async function copyText(rows: AsyncIterable<Uint8Array>): Promise<string> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of rows) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  it('gives every row once, numbered in the output order, whatever the step and the results held', async () => {
    const all = await readShardResults(store, keys, { heldBytes: Number.POSITIVE_INFINITY });
    const whole = await copyText(readModelRows(all, '2026-11-22', 1_000));
    const lines = whole.split('\n').slice(0, -1);
    expect(lines).toHaveLength(241);
    // Row numbers 0…240, each line the row of that rank in the output order.
    expect(lines.map((l) => Number(l.split('\t')[0]))).toEqual(Array.from({ length: 241 }, (_, k) => k));
    expect(lines.map((l) => l.split('\t')[16])).toEqual(ordered.map((r) => r.hash_linha));
    const reread = await readShardResults(store, keys, { heldBytes: 0 });
    for (const step of [1, 7, 240, 241]) {
      expect(await copyText(readModelRows(reread, '2026-11-22', step)), `step ${step}`).toBe(whole);
    }
  });
});

describe('copyRows', () => {
  it('copies rows [from, to) of a result, offsets starting at zero', () => {
    const columns = divergenceRowsToColumns(shards[2]!);
    const copy = copyRows(columns, 10, 30);
    expect(divergenceColumnsToRows(copy)).toEqual(shards[2]!.slice(10, 30));
    expect(copy.text.nome.offsets[0]).toBe(0);
    expect(divergenceColumnsToRows(copyRows(columns, 5, 5))).toEqual([]);
  });
});
