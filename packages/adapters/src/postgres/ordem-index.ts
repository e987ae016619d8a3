/**
 * A query that returns a row when the relation `$1` has a non-partial unique index on exactly
 * (ordem_id): one row per order. `relation` is how the query turns `$1` into an oid (`$1::regclass`
 * fails on a missing relation, `to_regclass($1)` gives NULL); `extra` adds conditions on the index
 * (`i`, pg_index) and its column (`a`, pg_attribute).
 */
export function uniqueOrdemIdIndexQuery(relation: '$1::regclass' | 'to_regclass($1)', extra = ''): string {
  return `SELECT 1 FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = ${relation} AND i.indisunique AND i.indnkeyatts = 1
        AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = 'ordem_id'${extra}`;
}
