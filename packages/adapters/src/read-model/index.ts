export * from './api-keys.ts';
export * from './copy-rows.ts';
export * from './postgres.ts';
