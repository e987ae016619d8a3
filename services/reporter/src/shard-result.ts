/**
 * Reads a matcher's shard result (`keys.shardResult`) into columns: version 2 through the codec of
 * @recon/contracts (shard-result.ts); version 1, `JSON.stringify` of the shard output written by
 * matchers before it, is still read so a job can finish across an upgrade.
 */
import {
  type DivergenceColumns,
  type DivergenceRow,
  decodeShardResultV2,
  isShardResultV2,
  ReconError,
  type RejectedLine,
  SHARD_TEXT_COLUMNS,
  type ShardResultColumns,
  type TextColumnData,
  type TextColumnName,
} from '@recon/contracts';

export type ShardResult = ShardResultColumns;

export function decodeShardResult(body: Uint8Array, key: string): ShardResult {
  if (isShardResultV2(body)) return decodeShardResultV2(body, key);
  const v1 = JSON.parse(Buffer.from(body).toString('utf8')) as {
    divergences: DivergenceRow[];
    vendorDuplicates: ShardResult['vendorDuplicates'];
    baseDuplicates: RejectedLine[];
  };
  return {
    divergences: rowsToColumns(v1.divergences),
    vendorDuplicates: v1.vendorDuplicates,
    baseDuplicates: v1.baseDuplicates,
  };
}

/** Rows (version 1) as DivergenceColumns, as the matcher's encodeShardResult lays them out. */
export function rowsToColumns(rows: readonly DivergenceRow[]): DivergenceColumns {
  const n = rows.length;
  const text = {} as Record<TextColumnName, TextColumnData>;
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
      else throw new ReconError('INTERNAL', `divergence ${i}: ${column} is neither a string nor null`);
      offsets[i + 1] = end;
    }
    text[column] = { offsets, bytes: bytes.subarray(0, end), nulls };
  }
  const linhaArquivo = new Float64Array(n);
  const linhaArquivoNulls = new Uint8Array(n);
  const timestamp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.linha_arquivo === null) linhaArquivoNulls[i] = 1;
    else linhaArquivo[i] = r.linha_arquivo;
    timestamp[i] = r.timestamp;
  }
  return { rows: n, text, linhaArquivo, linhaArquivoNulls, timestamp };
}
