/**
 * The per-record hot paths on a real day, in one thread, for profilers: partitioning (file bytes →
 * shard lines) and matching (classifying shards). Wall times here are as noisy as the machine;
 * for small changes count instructions instead, with callgrind on the bundled script (no tsx):
 *
 *   tsx bench/micro.ts --phase prepare [--buckets 8]   # once: the day's shards, for --phase match
 *   tsx bench/micro.ts --phase partition|match [--reps 3] [--mb 16] [--side vendor|base] [--wasm false] [--shards 4]
 *   valgrind --tool=callgrind node <bundle> --phase partition --reps 1   (and --phase none, to subtract)
 *
 * `--phase partition` encodes the first `--mb` MiB of the vendor file (its quoted lines included),
 * or of the base snapshot with `--side base`;
 * `--phase match` classifies the first `--shards` shards of the day (32 shards, as a job would;
 * `--shard-count` to prepare others), each in the buckets `--phase prepare --buckets N` wrote
 * (default 8, as the job's parts on the 1M-line day; 1: a shard in one piece).
 * `--phase report` classifies every shard once, then times the reporter's work on their results:
 * merging them into output order, the Arrow columns, the IPC stream, and the Parquet file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  decodeShardResultV2,
  encodeShardResult,
  type RejectedLine,
} from '../packages/contracts/src/index.ts';
import {
  encodeRecordBlock,
  normalizeRecord,
  RecordBlockReader,
  ShardWriter,
} from '../packages/rules/src/index.ts';
import { classifyShard } from '../services/matcher/src/classify.ts';
import { DEFAULT_SEVERITY } from '../services/matcher/src/severity.ts';
import { divergenceOrder } from '../services/reporter/src/merge.ts';
import { arrowToIpc, divergenceColumnsToArrow, ipcToParquet } from '../services/reporter/src/parquet.ts';

const { values } = parseArgs({
  options: {
    phase: { type: 'string', default: 'partition' },
    day: { type: 'string', default: '.recon/bench/day-1000000' },
    work: { type: 'string', default: '.recon/micro' },
    mb: { type: 'string', default: '16' },
    side: { type: 'string', default: 'vendor' },
    reps: { type: 'string', default: '3' },
    shards: { type: 'string', default: '4' },
    /** How the matcher gets its slices: the parts' bytes (today), or latin1 text (before). */
    input: { type: 'string', default: 'bytes' },
    'shard-count': { type: 'string', default: '32' },
    buckets: { type: 'string', default: '8' },
    /** `--wasm false`: the partition without the WebAssembly encoder (its TypeScript fast path). */
    wasm: { type: 'string', default: 'true' },
  },
});
const day = resolve(values.day as string);
const work = resolve(values.work as string);
const reps = Number(values.reps);
const SHARDS = Number(values['shard-count']);
/** Buckets per shard, as a job's parts keep them (`JobRequested.shardBuckets`). */
const BUCKETS = Number(values.buckets);

/** The first block of whole records of a file, about `bytes` long. */
async function firstBlock(path: string, bytes: number) {
  const reader = new RecordBlockReader({ label: path, blockBytes: bytes });
  for await (const block of reader.blocks(createReadStream(path, { highWaterMark: 1 << 20 }))) {
    return {
      bytes: block.bytes,
      firstLine: block.firstLine,
      order: reader.columnOrder!,
      records: block.records,
    };
  }
  throw new Error(`${path}: no records`);
}

/**
 * chunk-written's loop: the WebAssembly encoder (unless `--wasm false`), else the TypeScript fast
 * path, else the general one.
 */
function partition(bytes: Buffer, firstLine: number, order: readonly number[], writer: ShardWriter) {
  const rejects: RejectedLine[] = [];
  let general = 0;
  const scan = encodeRecordBlock(
    bytes,
    firstLine,
    order,
    writer,
    (fields, linha, raw) => {
      general++;
      const result = normalizeRecord(fields, order);
      if (result.ok) writer.add(linha, result.record);
      else rejects.push({ linha, motivo: result.motivo, mensagem: result.mensagem, conteudo: raw });
    },
    { wasm: values.wasm !== 'false' },
  );
  return { wasm: scan.wasm, fast: scan.fast - scan.wasm, general, rejects: rejects.length };
}

function report(what: string, records: number, times: number[]) {
  const best = Math.min(...times);
  console.log(
    `${what}: ${records} records · best ${best.toFixed(1)} ms (${((best * 1000) / records).toFixed(3)} µs/record) · all ${times.map((t) => t.toFixed(0)).join(' ')} ms`,
  );
}

const phase = values.phase as string;
if (phase === 'prepare') {
  await mkdir(work, { recursive: true });
  for (const side of ['vendor', 'base'] as const) {
    const writer = new ShardWriter(SHARDS, 0, BUCKETS);
    const reader = new RecordBlockReader({ label: side, blockBytes: 8 << 20 });
    const path = join(day, `${side}.csv`);
    for await (const block of reader.blocks(createReadStream(path, { highWaterMark: 1 << 20 })))
      partition(block.bytes, block.firstLine, reader.columnOrder!, writer);
    // Each shard's bytes, and the size of each of its buckets.
    const { body } = writer.take(side);
    for (let s = 0; s < SHARDS; s++) {
      const buckets = body.slice(s * BUCKETS, (s + 1) * BUCKETS);
      await writeFile(join(work, `${side}-${s}.bin`), Buffer.concat(buckets));
      await writeFile(join(work, `${side}-${s}.json`), JSON.stringify(buckets.map((b) => b.length)));
    }
  }
  console.log(`shards written to ${work}`);
} else if (phase === 'partition') {
  const side = values.side as string;
  if (side !== 'vendor' && side !== 'base') throw new Error(`--side ${side}: expected vendor or base`);
  const block = await firstBlock(join(day, `${side}.csv`), Number(values.mb) << 20);
  const times: number[] = [];
  let counts = { wasm: 0, fast: 0, general: 0, rejects: 0 };
  for (let r = 0; r < reps; r++) {
    const writer = new ShardWriter(SHARDS, block.bytes.length, BUCKETS);
    const started = performance.now();
    counts = partition(block.bytes, block.firstLine, block.order, writer);
    times.push(performance.now() - started);
  }
  report(
    `partition (WebAssembly ${counts.wasm}, TypeScript ${counts.fast}, general ${counts.general})`,
    block.records,
    times,
  );
} else if (phase === 'match') {
  const count = Number(values.shards);
  const asText = values.input === 'latin1';
  const inputs: { vendor: Buffer | string; base: Buffer | string; vb?: number[]; bb?: number[] }[] = [];
  let records = 0;
  for (let s = 0; s < count; s++) {
    const vendor = await readFile(join(work, `vendor-${s}.bin`));
    const base = await readFile(join(work, `base-${s}.bin`));
    for (const byte of vendor) if (byte === 10) records++;
    const vb = await bucketSizes(join(work, `vendor-${s}.json`));
    const bb = await bucketSizes(join(work, `base-${s}.json`));
    inputs.push(
      asText
        ? { vendor: vendor.toString('latin1'), base: base.toString('latin1') }
        : { vendor, base, vb, bb },
    );
  }
  const times: number[] = [];
  let rows = 0;
  let bytes = 0;
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    rows = 0;
    bytes = 0;
    // As the matcher does: classify, then encode the shard result.
    for (const input of inputs) {
      const out = classify(input);
      rows += out.divergences.rows;
      bytes += encodeShardResult(out).byteLength;
    }
    times.push(performance.now() - started);
  }
  report(`match (${rows} divergence rows, ${bytes} result bytes)`, records, times);
} else if (phase === 'report') {
  // The reporter's inputs: every shard's result, as the matchers write them and the reporter reads them.
  const lists = [];
  for (let s = 0; s < SHARDS; s++) {
    const vendor = await readFile(join(work, `vendor-${s}.bin`));
    const base = await readFile(join(work, `base-${s}.bin`));
    const body = encodeShardResult(classify({ vendor, base }));
    lists.push(decodeShardResultV2(body, `shard-${s}`).divergences);
  }
  const rows = lists.reduce((n, l) => n + l.rows, 0);
  const steps: Record<string, number[]> = { merge: [], arrow: [], ipc: [], parquet: [], total: [] };
  let bytes = 0;
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    const started = t;
    const lap = (step: string) => {
      const now = performance.now();
      steps[step]!.push(now - t);
      t = now;
    };
    const order = divergenceOrder(lists);
    lap('merge');
    const table = divergenceColumnsToArrow(lists, order.list, order.at, 0, rows);
    lap('arrow');
    const ipc = arrowToIpc(table);
    lap('ipc');
    bytes = ipcToParquet(ipc).byteLength;
    lap('parquet');
    steps.total!.push(performance.now() - started);
  }
  for (const [step, times] of Object.entries(steps)) report(`report ${step} (${bytes} bytes)`, rows, times);
} else if (phase !== 'none') {
  throw new Error(`unknown phase ${phase}`);
}

/** A shard's bucket sizes written by `--phase prepare` (none: shards prepared before buckets). */
async function bucketSizes(path: string): Promise<number[] | undefined> {
  try {
    const sizes = JSON.parse(await readFile(path, 'utf8')) as number[];
    return sizes.length > 1 ? sizes : undefined;
  } catch {
    return undefined;
  }
}

/** The matcher's classification of one shard, as a job's matcher runs it. */
function classify(input: { vendor: Buffer | string; base: Buffer | string; vb?: number[]; bb?: number[] }) {
  return classifyShard({
    jobId: 'JOB-20261122-000001',
    // The shapes both classifiers (before: latin1 text only) accept.
    vendor: [input.vendor] as string[],
    base: [input.base] as string[],
    vendorBuckets: [input.vb],
    baseBuckets: [input.bb],
    binary: true,
    scope: 'date-window',
    window: { from: '2026-10-22', to: '2026-11-20' },
    timestamp: 0,
    severity: DEFAULT_SEVERITY,
  });
}
