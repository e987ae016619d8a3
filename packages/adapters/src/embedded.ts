/**
 * What the embedded runtime needs, without the AWS SDK, kysely or OpenTelemetry: importing the
 * whole package costs every worker thread more than a second of start-up.
 */
export * from './bus/in-process.ts';
export * from './bus/worker-pool.ts';
export * from './job-store/memory.ts';
export * from './log.ts';
export * from './object-store/local.ts';
export * from './object-store/prefix-routed.ts';
