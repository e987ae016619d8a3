/**
 * Reads a matcher's shard result (`keys.shardResult`) into columns: version 2 through the codec of
 * @recon/contracts (shard-result.ts); version 1, `JSON.stringify` of the shard output written by
 * matchers before it, is still read so a job can finish across an upgrade.
 */
import {
  type DivergenceColumns,
  type DivergenceRow,
  decodeShardResultV2,
  divergenceRowsToColumns,
  isShardResultV2,
  type RejectedLine,
  type ShardResultColumns,
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

/** Rows (version 1) as DivergenceColumns, laid out as a version 2 result would hold them. */
export const rowsToColumns: (rows: readonly DivergenceRow[]) => DivergenceColumns = divergenceRowsToColumns;
