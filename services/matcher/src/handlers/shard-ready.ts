import {
  BARRIERS,
  type DivergenceRow,
  keys,
  type PartRef,
  type ServiceContext,
  type ShardReady,
  type ShardUnit,
} from '@recon/contracts';
import { classifyShard, type ShardOutput } from '../classify.ts';
import { DEFAULT_SEVERITY, type SeverityPolicy } from '../severity.ts';

export interface MatcherOptions {
  severity: SeverityPolicy;
}

/** Matches one shard: reads both sides' slices, classifies, writes the result, joins the fan-in. */
export async function handleShardReady(
  ctx: ServiceContext,
  msg: ShardReady,
  options: MatcherOptions = { severity: DEFAULT_SEVERITY },
): Promise<void> {
  const job = await ctx.jobs.getJob(msg.jobId);
  if (job === undefined || job.status !== 'MATCHING') return;
  const startedAt = ctx.clock.now();
  const [vendor, base] = await Promise.all([
    readRecords(ctx, msg.vendorParts),
    readRecords(ctx, msg.baseParts),
  ]);
  const output = classifyShard({
    jobId: msg.jobId,
    vendor,
    base,
    binary: true,
    scope: msg.scope,
    window: msg.window,
    timestamp: startedAt.getTime(),
    severity: options.severity,
  });
  const resultKey = keys.shardResult(msg.jobId, msg.shard);
  await ctx.store.put(resultKey, encodeShardResult(output));
  const unit: ShardUnit = { shard: msg.shard, resultKey, counts: output.counts };
  await ctx.jobs.recordStageSpan(
    msg.jobId,
    'matching',
    startedAt.toISOString(),
    ctx.clock.now().toISOString(),
  );
  if (await ctx.jobs.completeUnit(msg.jobId, BARRIERS.shards, String(msg.shard).padStart(6, '0'), unit)) {
    await ctx.jobs.setStatus(msg.jobId, 'REPORTING', ctx.clock.now().toISOString());
    await ctx.events.publish('matching.completed', `matching.completed:${msg.jobId}`, { jobId: msg.jobId });
  }
}

/** The slices as one latin1 text (a byte copy; see `ShardInput.binary`). */
async function readRecords(ctx: ServiceContext, parts: readonly PartRef[]): Promise<string[]> {
  const bytes = await Promise.all(parts.map((p) => ctx.store.getRange(p.key, p.start, p.end)));
  return [Buffer.concat(bytes).toString('latin1')];
}

// ---------------------------------------------------------------------------------------------
// Shard result format, version 2 (read by services/reporter/src/shard-result.ts; keep in step).
//
// Version 1 was `JSON.stringify(output)`; parsing ~100k divergence objects cost the reporter most
// of its time. Version 2 stores the divergences column by column, so the reporter copies bytes
// straight into the Arrow buffers of the Parquet output:
//
//   u32 LE magic 0x32525352 ("RSR2") · u32 LE header length · header JSON (UTF-8) · sections
//
// The header holds `version: 2`, `rows`, `vendorDuplicates`, `baseDuplicates`, `counts` and
// `sections: { name, offset, length }[]` (byte offsets from the file start, 8-aligned). Sections:
// for each of SHARD_TEXT_COLUMNS `<col>.offsets` (Int32, rows + 1), `<col>.bytes` (UTF-8) and
// `<col>.nulls` (Uint8, 1 = null); `linha_arquivo` (Float64) with `linha_arquivo.nulls`;
// `timestamp` (Float64). The values are written as they are: the reporter validates them.

export const SHARD_RESULT_MAGIC = 0x32525352;

/** The DivergenceRow fields held as text, in section order. */
export const SHARD_TEXT_COLUMNS = [
  'job_id',
  'tipo_divergencia',
  'severidade',
  'ordem_id',
  'fornecedor_id',
  'nome',
  'ativo_id',
  'data',
  'data_base',
  'valor_csv',
  'valor_base',
  'diferenca',
  'campo',
  'detalhes',
  'hash_linha',
] as const satisfies readonly (keyof DivergenceRow)[];

/** The shard output as a version 2 shard result (see above). */
export function encodeShardResult(output: ShardOutput): Uint8Array {
  const rows = output.divergences;
  const n = rows.length;
  const sections: { name: string; data: Uint8Array }[] = [];
  for (const column of SHARD_TEXT_COLUMNS) {
    let units = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![column];
      if (typeof v === 'string') units += v.length;
    }
    const bytes = Buffer.allocUnsafe(units * 3);
    const offsets = new Int32Array(n + 1);
    const nulls = new Uint8Array(n);
    let end = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![column] as unknown;
      if (typeof v === 'string') end += bytes.write(v, end, 'utf8');
      else if (v === null) nulls[i] = 1;
      else throw new Error(`divergence ${i}: ${column} is neither a string nor null`);
      offsets[i + 1] = end;
    }
    sections.push(
      { name: `${column}.offsets`, data: new Uint8Array(offsets.buffer) },
      { name: `${column}.bytes`, data: bytes.subarray(0, end) },
      { name: `${column}.nulls`, data: nulls },
    );
  }
  const linha = new Float64Array(n);
  const linhaNulls = new Uint8Array(n);
  const timestamp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.linha_arquivo === null) linhaNulls[i] = 1;
    else linha[i] = r.linha_arquivo;
    timestamp[i] = r.timestamp;
  }
  sections.push(
    { name: 'linha_arquivo', data: new Uint8Array(linha.buffer) },
    { name: 'linha_arquivo.nulls', data: linhaNulls },
    { name: 'timestamp', data: new Uint8Array(timestamp.buffer) },
  );

  // The header's size depends on the offsets it lists: lay the sections out after a padded header
  // of a fixed size, grown until it fits.
  const meta = {
    version: 2,
    rows: n,
    vendorDuplicates: output.vendorDuplicates,
    baseDuplicates: output.baseDuplicates,
    counts: output.counts,
  };
  let room = 4096;
  for (;;) {
    let at = align8(8 + room);
    const layout = sections.map((s) => {
      const entry = { name: s.name, offset: at, length: s.data.byteLength };
      at = align8(at + s.data.byteLength);
      return entry;
    });
    const header = Buffer.from(JSON.stringify({ ...meta, sections: layout }), 'utf8');
    if (header.length > room) {
      room = header.length * 2;
      continue;
    }
    const file = new Uint8Array(at);
    const view = new DataView(file.buffer);
    view.setUint32(0, SHARD_RESULT_MAGIC, true);
    view.setUint32(4, header.length, true);
    file.set(header, 8);
    file.fill(0x20, 8 + header.length, 8 + room); // JSON whitespace
    for (let k = 0; k < sections.length; k++) file.set(sections[k]!.data, layout[k]!.offset);
    return file;
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
