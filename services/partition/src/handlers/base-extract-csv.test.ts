import {
  BARRIERS,
  type BaseExtractRequested,
  type BaseUnit,
  type EventPublisher,
  encodeShardRecord,
  type JobRecord,
  type JobRequested,
  type JobStore,
  type ObjectBody,
  type ObjectStore,
  type RejectedLine,
  type ServiceContext,
  wholeBody,
} from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { describe, expect, it } from 'vitest';
import { pick, rng } from '../../../../test/support/random.ts';
import { handleBaseExtractRequested, vendorOrdemIds } from './base-extract.ts';

/**
 * A CSV snapshot read in byte ranges (one split request, then one request per range) must give
 * exactly what reading it whole gives: the same shard lines in the same order, the same rejects
 * with the same physical line numbers, the same failures.
 */

const JOB = 'JOB-20261122-000001';
const SHARDS = 4;

/** Objects in memory (the handlers read them whole or by range). */
class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async put(key: string, body: ObjectBody): Promise<void> {
    this.objects.set(key, Buffer.from(wholeBody(body)));
  }
  async putStream(): Promise<void> {
    throw new Error('not used');
  }
  async get(key: string): Promise<Uint8Array> {
    return this.body(key);
  }
  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.body(key).subarray(start, end);
  }
  // biome-ignore lint/correctness/useYield: never read as a stream
  async *getStream(): AsyncIterable<Uint8Array> {
    throw new Error('not used');
  }
  async size(key: string): Promise<number | null> {
    return this.objects.get(key)?.length ?? null;
  }
  async list(): Promise<string[]> {
    return [...this.objects.keys()];
  }
  async deletePrefix(): Promise<void> {}
  uri(key: string): string {
    return `mem://${key}`;
  }
  private body(key: string): Buffer {
    const body = this.objects.get(key);
    if (body === undefined) throw new Error(`no object ${key}`);
    return body;
  }
}

/** The job store calls the handler makes: the job, its stage spans, the base barrier's units. */
function jobStore(request: JobRequested): JobStore {
  const job: JobRecord = {
    jobId: request.jobId,
    request,
    status: 'PARTITIONING',
    history: [],
    stages: {},
    facts: {},
    error: null,
  };
  const units = new Map<string, unknown>();
  const store: Partial<JobStore> = {
    getJob: async () => structuredClone(job),
    recordStageSpan: async () => {},
    completeUnit: async (_jobId, barrier, unit, data) => {
      if (barrier === BARRIERS.base) units.set(unit, data);
      return false;
    },
    listUnits: async <T>() =>
      [...units.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([unit, data]) => ({ unit, data: data as T })),
  };
  return store as JobStore;
}

const NOMES = [
  'Maria Silva',
  '"Silva; Jr"',
  '"multi\nlinha"',
  '"aspas ""dentro"""',
  'João Conceição',
  'Jo\u0303ao',
  '山田 太郎',
  'emoji 😀',
  ' espaços ',
  '"quebra\r\nCRLF; e ;"',
  'back\\slash',
];
const DATAS = ['2026-11-20', '20/11/2026', '2026-02-30', 'ontem', '2024-02-29'];
const VALORES = ['10.50', '1.234,56', '-0,005', '10.025', 'abc', '', '1,234.5'];

/** A snapshot with every shape the readers know, blank lines and CRLF among them. */
function snapshot(seed: number, rows: number): string {
  const r = rng(seed);
  const lines = ['\uFEFFordem_id;fornecedor_id;nome;ativo_id;data;valor'];
  for (let k = 0; k < rows; k++) {
    const x = r();
    const ordem = x < 0.02 ? '' : x < 0.05 ? `ORD-${Math.floor(r() * k)}` : `ORD-${k}`;
    if (x > 0.99) lines.push('');
    if (x > 0.985 && x <= 0.99) lines.push(`${ordem};só três;campos`);
    else
      lines.push(
        `${ordem};F${Math.floor(r() * 50)};${pick(r, NOMES)};A${k % 7};${pick(r, DATAS)};${pick(r, VALORES)}`,
      );
  }
  return lines.map((l, k) => (k % 3 === 0 ? `${l}\r\n` : `${l}\n`)).join('');
}

interface Outcome {
  /** Per shard, its lines from every part, in unit (slice) order. */
  shards: string[];
  rejects: RejectedLine[];
  rows: number;
  units: number;
}

async function read(text: string | Buffer, slices: number, order: 'forward' | 'reverse'): Promise<Outcome> {
  const ingress = new MemoryStore();
  await ingress.put('base.csv', text);
  const requested: BaseExtractRequested[] = [];
  const events: EventPublisher = {
    publish: async (type, _id, payload) => {
      if (type === 'base.extract-requested') requested.push(payload as BaseExtractRequested);
    },
  };
  const store = new MemoryStore();
  const req = jobRequest(JOB, {
    file: { key: 'vendor.csv' },
    base: { kind: 'csv', key: 'base.csv' },
    scope: 'all',
    shardCount: SHARDS,
    chunkBytes: 1024,
    baseSlices: slices,
  });
  const jobs = jobStore(req);
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const ctx: ServiceContext = {
    store,
    ingress,
    jobs,
    events,
    clock: { now: () => new Date('2026-11-22T06:00:00Z') },
    log: silent,
  };
  const first: BaseExtractRequested = {
    jobId: JOB,
    source: req.base,
    slice: { index: 0, count: slices },
    scope: 'all',
    window: null,
    shardCount: SHARDS,
    vendorParts: [],
  };
  await handleBaseExtractRequested(ctx, first);
  if (slices > 1) {
    expect(requested.map((m) => m.slice.index)).toEqual([...Array(slices).keys()]);
    const ranges = requested.map((m) => m.range!);
    for (let k = 1; k < ranges.length; k++)
      expect(ranges[k]!.start).toBeGreaterThanOrEqual(ranges[k - 1]!.end);
    for (const m of order === 'forward' ? requested : [...requested].reverse())
      await handleBaseExtractRequested(ctx, m);
  }
  const units = (await jobs.listUnits<BaseUnit>(JOB, BARRIERS.base)).map((u) => u.data);
  const shards: string[] = Array.from({ length: SHARDS }, () => '');
  const rejects: RejectedLine[] = [];
  for (const unit of units) {
    for (const part of unit.parts) {
      const body = Buffer.from(await store.get(part.key));
      for (let s = 0; s < SHARDS; s++)
        shards[s] += body.toString('utf8', part.offsets[s]!, part.offsets[s + 1]!);
    }
    if (unit.rejectsKey !== null)
      rejects.push(
        ...(JSON.parse(Buffer.from(await store.get(unit.rejectsKey)).toString()) as RejectedLine[]),
      );
  }
  return { shards, rejects, rows: units.reduce((n, u) => n + u.rows, 0), units: units.length };
}

async function failure(text: string | Buffer, slices: number): Promise<string> {
  try {
    await read(text, slices, 'forward');
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  throw new Error('expected the snapshot to be rejected');
}

describe('a CSV base snapshot read in byte ranges', () => {
  it('gives the shard lines and rejects of the whole-file read, whatever the slice count', async () => {
    const text = snapshot(7, 3000);
    const whole = await read(text, 1, 'forward');
    expect(whole.rows).toBeGreaterThan(1000);
    expect(whole.rejects.length).toBeGreaterThan(500);
    expect(whole.rejects.some((r) => r.conteudo.includes('\n'))).toBe(true);
    for (const slices of [2, 3, 7, 40]) {
      for (const order of ['forward', 'reverse'] as const) {
        const sliced = await read(text, slices, order);
        expect(sliced.units).toBe(slices);
        expect(sliced.rows).toBe(whole.rows);
        expect(sliced.shards).toEqual(whole.shards);
        expect(sliced.rejects.sort((a, b) => a.linha - b.linha)).toEqual(whole.rejects);
      }
    }
  });

  it('publishes empty ranges for slices no record starts in (more slices than blocks)', async () => {
    const text = snapshot(3, 20);
    const whole = await read(text, 1, 'forward');
    const sliced = await read(text, 9, 'forward');
    expect(sliced.units).toBe(9);
    expect(sliced.shards).toEqual(whole.shards);
    expect(sliced.rejects).toEqual(whole.rejects);
  });

  it('rejects a snapshot as the whole-file read does: bad UTF-8 deep in the file, an unclosed quote, a bad header', async () => {
    const good = snapshot(11, 2000);
    const cut = good.lastIndexOf('\n', good.length - 200) + 1;
    const notUtf8 = Buffer.concat([
      Buffer.from(good.slice(0, cut)),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(good.slice(cut)),
    ]);
    const unclosed = `${good}F;O;"aberta;A;2026-01-01;1\nF;P;x;A;2026-01-01;1\n`;
    const badHeader = good.replace('ordem_id;', 'ordem;');
    for (const bad of [notUtf8, unclosed, badHeader]) {
      const expected = await failure(bad, 1);
      expect(await failure(bad, 5)).toBe(expected);
    }
  });
});

describe('the vendor orders a database slice asks for', () => {
  it('are read back from the shard parts exactly as decoded, escaped and non-ASCII ones too', async () => {
    const records = [
      { linha: 2, ordem_id: 'ORD-1' },
      { linha: 3, ordem_id: 'ORD-é' },
      { linha: 4, ordem_id: 'ORD\t5' },
      { linha: 5, ordem_id: 'back\\slash' },
      { linha: 6, ordem_id: '山田' },
      { linha: 7, ordem_id: 'x' },
    ].map((r) => ({
      ...r,
      fornecedor_id: 'F',
      nome: 'Jo\u0303ao',
      ativo_id: 'A',
      data: '2026-11-20',
      valor: '1.00',
    }));
    const store = new MemoryStore();
    const body = records.map((r) => encodeShardRecord(r.linha, r)).join('');
    await store.put('part', `\n${body}`);
    const ctx = { store } as unknown as ServiceContext;
    const ids: string[] = [];
    for await (const batch of vendorOrdemIds(ctx, [
      { key: 'part', start: 0, end: Buffer.byteLength(body) + 1 },
    ]))
      ids.push(...batch);
    expect(ids).toEqual(records.map((r) => r.ordem_id));
  });
});
