import {
  BARRIERS,
  type ChunkWritten,
  keys,
  type RejectedLine,
  type ServiceContext,
  type VendorChunkUnit,
} from '@recon/contracts';
import { normalizeRecord, scanRecords } from '@recon/rules';
import { isJobOpen } from '../fan-in.ts';
import { ShardWriter } from '../shard-writer.ts';

/** A raw line without these characters yields text fields that need no escaping in a shard part. */
const NEEDS_ESCAPE = /[\t\\\r\n]/;

/** Parses, validates and normalizes one vendor chunk and writes its records by shard. */
export async function handleChunkWritten(ctx: ServiceContext, msg: ChunkWritten): Promise<void> {
  if (!(await isJobOpen(ctx, msg.jobId))) return;
  const startedAt = ctx.clock.now().toISOString();
  const text = Buffer.from(await ctx.store.get(msg.key)).toString('utf8');
  const writer = new ShardWriter(msg.shardCount);
  const rejects: RejectedLine[] = [];
  let valid = 0;
  let minData: string | null = null;
  let maxData: string | null = null;
  const scan = scanRecords(text, msg.firstLine, true, (fields, linha, raw) => {
    const result = normalizeRecord(fields, msg.columnOrder);
    if (!result.ok) {
      rejects.push({ linha, motivo: result.motivo, mensagem: result.mensagem, conteudo: raw });
      return;
    }
    valid++;
    const data = result.record.data;
    if (minData === null || data < minData) minData = data;
    if (maxData === null || data > maxData) maxData = data;
    writer.add(linha, result.record, !NEEDS_ESCAPE.test(raw));
  });

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
