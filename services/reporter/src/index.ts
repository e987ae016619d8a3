export { reporterHandlers } from './app.ts';
export { DEFAULT_REPORTER_OPTIONS, type ReporterOptions } from './handlers/matching-completed.ts';
export { encodeDivergencesParquet } from './parquet.ts';
export { type AlertPolicy, DEFAULT_ALERTS } from './summary.ts';
