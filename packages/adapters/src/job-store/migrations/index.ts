import type { Migration } from 'kysely';
import * as createJobStore from './20261122113000_create_job_store.ts';
import * as jobControl from './20261123090000_job_control.ts';

/**
 * Every migration of the job store, by name (applied in name order). Listed statically rather
 * than read from a folder so that a bundled service carries them.
 */
export const JOB_STORE_MIGRATIONS: Readonly<Record<string, Migration>> = {
  '20261122113000_create_job_store': createJobStore,
  '20261123090000_job_control': jobControl,
};
