import {
  BARRIERS,
  type BaseExtractRequested,
  type BaseExtractScope,
  type BaseUnit,
  decodeShardLine,
  forEachShardLine,
  keys,
  type PartInfo,
  type PartRef,
  ReconError,
  type RejectedLine,
  type ServiceContext,
} from '@recon/contracts';
import { FastRecordEncoder, normalizeRecord, RecordBlockReader, scanRecordBytes } from '@recon/rules';
import { isJobOpen } from '../fan-in.ts';
import { ShardWriter } from '../shard-writer.ts';

/** Flush a base part every ~32 MiB of text: memory stays bounded however large the base is. */
const PART_CHARS = 32 << 20;
const CANONICAL = [0, 1, 2, 3, 4, 5];

/** Streams the internal base (CSV snapshot or database relation) into shard parts. */
export async function handleBaseExtractRequested(
  ctx: ServiceContext,
  msg: BaseExtractRequested,
): Promise<void> {
  if (!(await isJobOpen(ctx, msg.jobId))) return;
  const startedAt = ctx.clock.now().toISOString();
  const writer = new ShardWriter(msg.shardCount);
  const parts: PartInfo[] = [];
  const rejects: RejectedLine[] = [];
  let rows = 0;
  const flush = async () => {
    const key = keys.basePart(msg.jobId, msg.slice.index, parts.length);
    const { body, part } = writer.take(key);
    await ctx.store.put(key, body);
    parts.push(part);
  };

  if (msg.source.kind === 'csv') {
    const reader = new RecordBlockReader({
      label: `base snapshot ${ctx.ingress.uri(msg.source.key)}`,
      blockBytes: 8 << 20,
    });
    let encoder: FastRecordEncoder | null = null;
    for await (const block of reader.blocks(ctx.ingress.getStream(msg.source.key))) {
      const order = reader.columnOrder!;
      const bytes = block.bytes;
      encoder ??= new FastRecordEncoder(order);
      const fast = encoder;
      scanRecordBytes(
        bytes,
        block.firstLine,
        (start, end, linha) => {
          if (!fast.encode(bytes, start, end, linha, writer)) return false;
          rows++;
          return true;
        },
        (fields, linha, raw) => {
          const result = normalizeRecord(fields, order);
          if (result.ok) {
            writer.add(linha, result.record);
            rows++;
          } else rejects.push({ linha, motivo: result.motivo, mensagem: result.mensagem, conteudo: raw });
        },
      );
      if (writer.size > PART_CHARS) await flush();
    }
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
            ordemIds: vendorOrdemIds(ctx, msg.vendorParts),
          };
    const encoder = new FastRecordEncoder(CANONICAL);
    for await (const batch of ctx.base.read(msg.source.relation, scope, msg.slice)) {
      for (const row of batch) if (addBaseRow(row, encoder, writer, rejects)) rows++;
      if (writer.size > PART_CHARS) await flush();
    }
  }
  await flush();

  let rejectsKey: string | null = null;
  if (rejects.length > 0) {
    rejectsKey = keys.rejects(msg.jobId, 'base', msg.slice.index);
    await ctx.store.put(rejectsKey, JSON.stringify(rejects));
  }
  const unit: BaseUnit = { parts, rows, invalid: rejects.length, rejectsKey };
  await ctx.jobs.recordStageSpan(msg.jobId, 'base', startedAt, ctx.clock.now().toISOString());
  const unitName = `slice-${String(msg.slice.index).padStart(2, '0')}`;
  if (await ctx.jobs.completeUnit(msg.jobId, BARRIERS.base, unitName, unit)) {
    await ctx.events.publish('partition.side-completed', `partition.side-completed:${msg.jobId}:base`, {
      jobId: msg.jobId,
      side: 'base',
    });
  }
}

/**
 * One database row into `writer`, or into `rejects` (returns false). Rows already canonical
 * (numeric::text, ISO dates, plain text: nearly all) are encoded straight into the writer's
 * buffers by `encoder` (made with the canonical column order); the rest take `normalizeRecord`,
 * which alone decides rejects and their messages.
 */
export function addBaseRow(
  row: readonly (string | null)[],
  encoder: FastRecordEncoder,
  writer: ShardWriter,
  rejects: RejectedLine[],
): boolean {
  if (encoder.encodeFields(row, 0, writer)) return true;
  const fields = row.map((v) => v ?? '');
  const result = normalizeRecord(fields, CANONICAL);
  if (result.ok) {
    writer.add(0, result.record);
    return true;
  }
  const nulls = row.flatMap((v, k) => (v === null ? [k] : []));
  const mensagem =
    nulls.length > 0
      ? `${result.mensagem} (coluna(s) nula(s) na base: ${nulls.join(', ')})`
      : result.mensagem;
  rejects.push({ linha: 0, motivo: result.motivo, mensagem, conteudo: fields.join(';') });
  return false;
}

/** The vendor file's orders, read back from its shard parts, in batches. */
async function* vendorOrdemIds(ctx: ServiceContext, parts: readonly PartRef[]): AsyncGenerator<string[]> {
  for (const part of parts) {
    const text = Buffer.from(await ctx.store.getRange(part.key, part.start, part.end)).toString('utf8');
    const ids: string[] = [];
    // Only the second field of each line is needed: no full decode of a million records.
    forEachShardLine(text, (line, key) => {
      ids.push(key.includes('\\') ? decodeShardLine(line).ordem_id : key);
    });
    yield ids;
  }
}
