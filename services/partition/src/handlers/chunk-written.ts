import {
  BARRIERS,
  type ChunkWritten,
  keys,
  type RejectedLine,
  type ServiceContext,
  type VendorChunkUnit,
} from '@recon/contracts';
import { dataKeyOf, dataOfKey, encodeRecordBlock, normalizeRecord, ShardWriter } from '@recon/rules';
import { isJobOpen } from '../fan-in.ts';

/** A raw line without these characters yields text fields that need no escaping in a shard part. */
const NEEDS_ESCAPE = /[\t\\\r\n]/;

/** Parses, validates and normalizes one vendor chunk and writes its records by shard. */
export async function handleChunkWritten(ctx: ServiceContext, msg: ChunkWritten): Promise<void> {
  if (!(await isJobOpen(ctx, msg.jobId))) return;
  const startedAt = ctx.clock.now().toISOString();
  const stored = await ctx.store.get(msg.key);
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const writer = new ShardWriter(msg.shardCount, bytes.length, msg.shardBuckets);
  const rejects: RejectedLine[] = [];
  let valid = 0;
  // Dates as YYYYMMDD numbers: same order as the ISO strings, no string per record.
  let minKey = Number.POSITIVE_INFINITY;
  let maxKey = Number.NEGATIVE_INFINITY;
  const scan = encodeRecordBlock(bytes, msg.firstLine, msg.columnOrder, writer, (fields, linha, raw) => {
    const result = normalizeRecord(fields, msg.columnOrder);
    if (!result.ok) {
      rejects.push({ linha, motivo: result.motivo, mensagem: result.mensagem, conteudo: raw });
      return;
    }
    valid++;
    const key = dataKeyOf(result.record.data);
    if (key < minKey) minKey = key;
    if (key > maxKey) maxKey = key;
    writer.add(linha, result.record, !NEEDS_ESCAPE.test(raw));
  });
  valid += scan.fast;
  minKey = Math.min(minKey, scan.minDataKey);
  maxKey = Math.max(maxKey, scan.maxDataKey);
  const minData = valid > 0 ? dataOfKey(minKey) : null;
  const maxData = valid > 0 ? dataOfKey(maxKey) : null;

  const partKey = keys.part(msg.jobId, 'vendor', msg.index);
  const { body, part } = writer.take(partKey);
  await ctx.store.put(partKey, body);
  let rejectsKey: string | null = null;
  if (rejects.length > 0) {
    rejectsKey = keys.rejects(msg.jobId, 'vendor', msg.index);
    await ctx.store.put(rejectsKey, JSON.stringify(rejects));
  }
  const unit: VendorChunkUnit = {
    index: msg.index,
    chunkKey: msg.key,
    firstLine: msg.firstLine,
    part,
    records: scan.records,
    valid,
    invalid: rejects.length,
    rejectsKey,
    minData,
    maxData,
  };
  await ctx.jobs.recordStageSpan(msg.jobId, 'partition', startedAt, ctx.clock.now().toISOString());
  const vendorDone = await ctx.jobs.completeUnit(
    msg.jobId,
    BARRIERS.vendorChunks,
    String(msg.index).padStart(6, '0'),
    unit,
  );
  if (vendorDone) {
    await ctx.events.publish('partition.side-completed', `partition.side-completed:${msg.jobId}:vendor`, {
      jobId: msg.jobId,
      side: 'vendor',
    });
  }
}
