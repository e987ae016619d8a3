import {
  BARRIERS,
  type BaseExtractRequested,
  type BaseExtractScope,
  type BaseUnit,
  CopyTextParser,
  decodeShardLine,
  keys,
  type PartInfo,
  type PartRef,
  ReconError,
  type RejectedLine,
  type ServiceContext,
} from '@recon/contracts';
import {
  addBaseRow,
  baseRowEncoder,
  CANONICAL_ORDER,
  encodeCopyLines,
  encodeRecordBlock,
  normalizeRecord,
  RecordBlockReader,
  ShardWriter,
  storeRangeSource,
} from '@recon/rules';
import { isJobOpen } from '../fan-in.ts';

/** Flush a base part every ~32 MiB of text: memory stays bounded however large the base is. */
const PART_CHARS = 32 << 20;

/** Streams the internal base (CSV snapshot or database relation) into shard parts. */
export async function handleBaseExtractRequested(
  ctx: ServiceContext,
  msg: BaseExtractRequested,
): Promise<void> {
  if (!(await isJobOpen(ctx, msg.jobId))) return;
  if (msg.source.kind === 'csv' && msg.range === undefined && msg.slice.count > 1) {
    await splitCsvBase(ctx, msg, msg.source.key);
    return;
  }
  const startedAt = ctx.clock.now().toISOString();
  // A CSV range's lines take about its size (the size of a database slice is not known).
  const writer = new ShardWriter(
    msg.shardCount,
    msg.range === undefined ? 0 : msg.range.end - msg.range.start,
    msg.shardBuckets,
  );
  const parts: PartInfo[] = [];
  const rejects: RejectedLine[] = [];
  let rows = 0;
  const flush = async () => {
    const key = keys.basePart(msg.jobId, msg.slice.index, parts.length);
    const { body, part } = writer.take(key);
    await ctx.store.put(key, body);
    parts.push(part);
  };

  if (msg.source.kind === 'csv' && msg.range !== undefined) {
    // One byte range of whole records, already checked by the split (header, UTF-8, quotes).
    const { start, end, firstLine, columnOrder } = msg.range;
    if (end > start) {
      const stored = await ctx.ingress.getRange(msg.source.key, start, end);
      const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      const records = new CsvBaseRecords(columnOrder, writer, rejects);
      records.add(bytes, firstLine);
      rows = records.rows;
    }
  } else if (msg.source.kind === 'csv') {
    const reader = new RecordBlockReader({
      label: csvBaseLabel(ctx, msg.source.key),
      blockBytes: 8 << 20,
    });
    let records: CsvBaseRecords | null = null;
    for await (const block of reader.blocksOf(await storeRangeSource(ctx.ingress, msg.source.key))) {
      records ??= new CsvBaseRecords(reader.columnOrder!, writer, rejects);
      records.add(block.bytes, block.firstLine);
      if (writer.size > PART_CHARS) await flush();
    }
    rows = records?.rows ?? 0;
  } else {
    if (ctx.base === undefined) {
      throw new ReconError(
        'INVALID_CONFIG',
        'the base is a database relation but no database is configured (DATABASE_URL)',
      );
    }
    const scope: BaseExtractScope =
      msg.scope === 'all'
        ? { mode: 'all' }
        : {
            mode: 'date-window',
            // No valid vendor line: an empty window; only orders named by the file could match.
            from: msg.window?.from ?? '9999-12-31',
            to: msg.window?.to ?? '0001-01-01',
            // Or the window only: the matchers look up the orders it misses.
            ...(msg.lookupMissing === true ? {} : { ordemIds: vendorOrdemIds(ctx, msg.vendorParts) }),
          };
    const records = new CopyTextBaseRecords(writer, rejects);
    for await (const chunk of ctx.base.read(msg.source.relation, scope, msg.slice)) {
      records.add(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (writer.size > PART_CHARS) await flush();
    }
    rows = records.rows;
  }
  await flush();

  let rejectsKey: string | null = null;
  if (rejects.length > 0) {
    rejectsKey = keys.rejects(msg.jobId, 'base', msg.slice.index);
    await ctx.store.put(rejectsKey, JSON.stringify(rejects));
  }
  const unit: BaseUnit = {
    parts,
    rows,
    invalid: rejects.length,
    rejectsKey,
    ...(msg.lookupMissing === true ? { lookupMissing: true } : {}),
  };
  await ctx.jobs.recordStageSpan(msg.jobId, 'base', startedAt, ctx.clock.now().toISOString());
  // Units are listed by name: the width keeps slice order (file order: first occurrence wins).
  const width = Math.max(2, String(msg.slice.count - 1).length);
  const unitName = `slice-${String(msg.slice.index).padStart(width, '0')}`;
  if (await ctx.jobs.completeUnit(msg.jobId, BARRIERS.base, unitName, unit)) {
    await ctx.events.publish('partition.side-completed', `partition.side-completed:${msg.jobId}:base`, {
      jobId: msg.jobId,
      side: 'base',
    });
  }
}

/**
 * Records of a CSV snapshot into `writer` (or `rejects`): most lines straight from their bytes
 * (`FastRecordEncoder`), the rest through `normalizeRecord`, which alone decides rejects and their
 * messages.
 */
class CsvBaseRecords {
  rows = 0;

  constructor(
    private readonly columnOrder: readonly number[],
    private readonly writer: ShardWriter,
    private readonly rejects: RejectedLine[],
  ) {}

  /** Whole records, the first starting on physical line `firstLine`. */
  add(bytes: Buffer, firstLine: number): void {
    const { writer, rejects, columnOrder } = this;
    const scan = encodeRecordBlock(bytes, firstLine, columnOrder, writer, (fields, linha, raw) => {
      const result = normalizeRecord(fields, columnOrder);
      if (result.ok) {
        writer.add(linha, result.record);
        this.rows++;
      } else rejects.push({ linha, motivo: result.motivo, mensagem: result.mensagem, conteudo: raw });
    });
    this.rows += scan.fast;
  }
}

/**
 * Rows of a database base, as the `BaseReader` port sends them (COPY text, whole lines), into
 * `writer` (or `rejects`): most straight from their bytes (`FastRecordEncoder.encodeTabbed`); a
 * line with an escape or a NULL, or a value to normalize, is parsed and takes `addBaseRow`.
 */
export class CopyTextBaseRecords {
  rows = 0;
  /** Rows encoded straight from their bytes. */
  fromBytes = 0;
  /** Of those, the rows the WebAssembly encoder wrote (`encodeCopyLines`). */
  fromWasm = 0;
  private readonly encoder = baseRowEncoder();
  private readonly parser = new CopyTextParser(6);
  private readonly parsed: (string | null)[][] = [];

  constructor(
    private readonly writer: ShardWriter,
    private readonly rejects: RejectedLine[],
  ) {}

  add(bytes: Buffer): void {
    if (bytes.length > 0 && bytes[bytes.length - 1] !== LF) {
      const last = bytes.lastIndexOf(LF) + 1;
      throw new ReconError(
        'INTERNAL',
        `the base reader sent a chunk that ends inside a row (the port sends whole lines): ${JSON.stringify(bytes.toString('utf8', last, last + 200))}`,
      );
    }
    const wasm = encodeCopyLines(bytes, this.writer, (pos, end) => {
      if (this.encoder.encodeTabbed(bytes, pos, end, 0, this.writer)) {
        this.rows++;
        this.fromBytes++;
        return;
      }
      this.parser.push(bytes.subarray(pos, end + 1), this.parsed);
      for (const row of this.parsed)
        if (addBaseRow(row, this.encoder, this.writer, this.rejects)) this.rows++;
      this.parsed.length = 0;
    });
    this.rows += wasm;
    this.fromBytes += wasm;
    this.fromWasm += wasm;
  }
}

const LF = 10;

function csvBaseLabel(ctx: ServiceContext, key: string): string {
  return `base snapshot ${ctx.ingress.uri(key)}`;
}

/**
 * Splits a CSV snapshot into the request's `slice.count` byte ranges of whole records and publishes
 * one request per range. One sequential read finds the record boundaries (a quoted field may hold
 * line breaks) and the physical line each range starts on, and rejects the snapshot as a single
 * reader would (empty, bad header, not UTF-8, unclosed quote). It reads the file in blocks of
 * about a range's size (size / count, cut after the last whole record), each by a ranged read
 * straight into a buffer of its own (a few requests on an object store, no stream chunks joined);
 * block k is range k (the last range takes whatever blocks remain). Each range is published as
 * soon as the read passes its end, so the slices are partitioned while the split goes on; a range
 * with no block (more slices than blocks) is published empty.
 */
async function splitCsvBase(ctx: ServiceContext, msg: BaseExtractRequested, key: string): Promise<void> {
  const startedAt = ctx.clock.now().toISOString();
  const count = msg.slice.count;
  const size = (await ctx.ingress.size(key)) ?? 0;
  const rangeBytes = Math.max(1, Math.ceil(size / count));
  const reader = new RecordBlockReader({ label: csvBaseLabel(ctx, key), blockBytes: rangeBytes });
  let blocks = 0;
  let index = 0;
  let start = 0;
  let end = 0;
  let firstLine = 1;
  let empty = true;
  const publish = async () => {
    const range = {
      start: empty ? end : start,
      end,
      firstLine,
      columnOrder: reader.columnOrder ?? [...CANONICAL_ORDER],
    };
    await ctx.events.publish('base.extract-requested', `base.extract-requested:${msg.jobId}:range-${index}`, {
      ...msg,
      slice: { index, count },
      range,
    });
    index++;
    empty = true;
  };
  for await (const block of reader.blocksOf(await storeRangeSource(ctx.ingress, key))) {
    const k = Math.min(count - 1, blocks++);
    if (index < k && !(await isJobOpen(ctx, msg.jobId))) return;
    while (index < k) await publish();
    if (empty) {
      start = block.offset;
      firstLine = block.firstLine;
      empty = false;
    }
    end = block.offset + block.bytes.length;
  }
  while (index < count) await publish();
  await ctx.jobs.recordStageSpan(msg.jobId, 'base', startedAt, ctx.clock.now().toISOString());
}

/**
 * The vendor file's orders, read back from its shard parts, in batches. Only the second field of
 * each line is needed: the part is read as latin1 (a plain copy; an ASCII key is the same text
 * either way), and only a key with other bytes or an escape is decoded from its line.
 */
export async function* vendorOrdemIds(
  ctx: ServiceContext,
  parts: readonly PartRef[],
): AsyncGenerator<string[]> {
  for (const part of parts) {
    const stored = await ctx.store.getRange(part.key, part.start, part.end);
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const text = bytes.toString('latin1');
    const ids: string[] = [];
    const n = text.length;
    for (let pos = 0; pos < n; ) {
      let end = text.indexOf('\n', pos);
      if (end === -1) end = n;
      if (end > pos) {
        const t1 = text.indexOf('\t', pos);
        const t2 = text.indexOf('\t', t1 + 1);
        let plain = true;
        for (let k = t1 + 1; k < t2 && plain; k++) {
          const c = text.charCodeAt(k);
          plain = c < 0x80 && c !== BACKSLASH;
        }
        ids.push(plain ? text.slice(t1 + 1, t2) : decodeShardLine(bytes.toString('utf8', pos, end)).ordem_id);
      }
      pos = end + 1;
    }
    yield ids;
  }
}

const BACKSLASH = 92;
