import type { Migration } from 'kysely';
import * as createReadModel from './20261122150000_create_read_model.ts';

/** Every migration of the read model, by name (applied in name order; listed statically). */
export const READ_MODEL_MIGRATIONS: Readonly<Record<string, Migration>> = {
  '20261122150000_create_read_model': createReadModel,
};
