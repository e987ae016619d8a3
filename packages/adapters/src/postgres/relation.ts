import { ReconError } from '@recon/contracts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A configured relation name split into its parts (`schema` only when it was given). */
export interface RelationName {
  schema: string | undefined;
  table: string;
}

/**
 * Splits `table` or `schema.table`, each part a plain SQL identifier. Anything else (quotes,
 * spaces, more dots, SQL) is refused: the name ends up inlined in SQL text (COPY takes no
 * parameters), so only names that need no escaping at all are accepted.
 */
export function parseRelation(name: string): RelationName {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `invalid relation name ${JSON.stringify(name)}: use "table" or "schema.table", each part a letter or ` +
        'underscore followed by letters, digits or underscores',
    );
  }
  return parts.length === 2
    ? { schema: parts[0], table: parts[1]! }
    : { schema: undefined, table: parts[0]! };
}

/** `transacoes` → `"transacoes"`, `recon.transacoes` → `"recon"."transacoes"`. */
export function quoteRelation(name: string): string {
  const { schema, table } = parseRelation(name);
  return schema === undefined ? `"${table}"` : `"${schema}"."${table}"`;
}
