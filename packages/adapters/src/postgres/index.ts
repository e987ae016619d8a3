export {
  type ExtractBaseOptions,
  type ExtractScope,
  extractBase,
  extractBaseText,
  type RawBaseRow,
} from './base-extract.ts';
export { type LoadBaseOptions, loadBase } from './base-load.ts';
export { pgBaseReader } from './base-reader.ts';
export {
  type PostgresHandle,
  runningEmbeddedPostgres,
  type StartEmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from './embedded.ts';
export { parseRelation, quoteRelation, type RelationName } from './relation.ts';
