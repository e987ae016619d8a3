import type { DateWindow, RawBaseRow } from '@recon/contracts';
import pg from 'pg';
import { extractError, selectList } from './base-extract.ts';
import { baseUnavailable, closeClient, describeTarget, openClient } from './connection.ts';
import { uniqueOrdemIdIndexQuery } from './ordem-index.ts';
import { quoteRelation } from './relation.ts';

/**
 * Whether `relation` holds one row per `ordem_id` through a unique index that an `ordem_id = ANY(…)`
 * lookup can use: a valid, non-partial unique index whose only key is a `text` or `varchar`
 * `ordem_id` column (`recon base load` creates one). A view has no index: false, as is a relation
 * that does not exist (reading it reports that).
 */
export async function ordersLookupable(url: string, name: string): Promise<boolean> {
  const relation = quoteRelation(name);
  const { client, target } = await openClient(url);
  try {
    const { rows } = await client.query<{ lookupable: boolean }>(LOOKUPABLE, [relation]);
    return rows[0]?.lookupable === true;
  } catch (error) {
    throw baseUnavailable(target, `reading the indexes of ${name}`, error);
  } finally {
    await closeClient(client);
  }
}

const LOOKUPABLE = `SELECT EXISTS (${uniqueOrdemIdIndexQuery(
  'to_regclass($1)',
  ` AND i.indisvalid AND a.atttypid IN ('text'::regtype, 'varchar'::regtype)`,
)}) AS lookupable`;

/**
 * The extraction's columns, the date printed by `to_char` (the extraction sets DateStyle on its
 * session instead; a pooled connection keeps the server's, and to_char costs nothing on a few rows).
 */
const LOOKUP_LIST = selectList(`to_char(data::date, 'YYYY-MM-DD')`);

/**
 * Looks orders up by id (`BaseReader.lookupOrders`) over a small pool of connections: a matcher
 * asks once per shard, and each ask reuses a connection instead of opening its own. Idle
 * connections close after a few seconds and never keep the process alive.
 */
export class OrderLookups {
  private readonly pool: pg.Pool;
  private readonly target: string;

  constructor(url: string) {
    this.target = describeTarget(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: 2,
      idleTimeoutMillis: 5_000,
      allowExitOnIdle: true,
      // Every column as the server prints it, as COPY gives it.
      types: { getTypeParser: () => (value: string) => value },
    });
    // An idle client's error is emitted, not thrown; the next query gets a fresh client.
    this.pool.on('error', () => {});
  }

  async lookup(name: string, ordemIds: readonly string[], window: DateWindow): Promise<RawBaseRow[]> {
    if (ordemIds.length === 0) return [];
    const relation = quoteRelation(name);
    try {
      const result = await this.pool.query<RawBaseRow>({
        text:
          `SELECT ${LOOKUP_LIST} FROM ${relation} WHERE ordem_id = ANY($1::text[]) ` +
          `AND (data::date BETWEEN $2::date AND $3::date) IS NOT TRUE`,
        values: [ordemIds, window.from, window.to],
        rowMode: 'array',
      });
      return result.rows;
    } catch (error) {
      throw extractError(error, this.target, name, `looking up ${ordemIds.length} order(s) in ${name}`);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
