import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadBase } from '@recon/adapters/postgres';
import { type NormalizedRecord, ReconError, type RejectedLine } from '@recon/contracts';
import { normalizeRecord, RecordBlockReader, scanRecords } from '@recon/rules';
import { Progress } from '../progress.ts';

export interface BaseLoadResult {
  rows: number;
  rejected: RejectedLine[];
}

/**
 * Reads a base snapshot CSV (same format and rules as the vendor file), rejects bad lines with the
 * same reasons, keeps the first occurrence of each ordem_id, and bulk-loads it with COPY.
 */
export async function baseLoad(opts: {
  file: string;
  url: string;
  relation: string;
  mode: 'replace' | 'append';
  quiet: boolean;
}): Promise<BaseLoadResult> {
  const path = resolve(opts.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new ReconError('FILE_NOT_FOUND', `${path}: no such file`);
  }
  const progress = new Progress(`loading ${opts.file}`, opts.quiet);
  const rejected: RejectedLine[] = [];
  const seen = new Map<string, number>();
  const reader = new RecordBlockReader({ label: path, blockBytes: 4 << 20 });
  async function* batches(): AsyncGenerator<NormalizedRecord[]> {
    for await (const block of reader.blocks(createReadStream(path, { highWaterMark: 1 << 20 }))) {
      const batch: NormalizedRecord[] = [];
      scanRecords(block.text, block.firstLine, true, (fields, linha, raw) => {
        const r = normalizeRecord(fields, reader.columnOrder!);
        if (!r.ok) {
          rejected.push({ linha, motivo: r.motivo, mensagem: r.mensagem, conteudo: raw });
          return;
        }
        const first = seen.get(r.record.ordem_id);
        if (first !== undefined) {
          rejected.push({
            linha,
            motivo: 'DUPLICATE_ORDEM_ID',
            mensagem: `ordem_id ${r.record.ordem_id} repetido (primeira ocorrência na linha ${first})`,
            conteudo: raw,
          });
          return;
        }
        seen.set(r.record.ordem_id, linha);
        batch.push(r.record);
      });
      progress.update(reader.records, null, reader.bytes / size);
      yield batch;
    }
  }
  const { rows } = await loadBase({
    url: opts.url,
    relation: opts.relation,
    batches: batches(),
    mode: opts.mode,
  });
  progress.done();
  return { rows, rejected };
}
