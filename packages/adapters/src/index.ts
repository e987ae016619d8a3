export * from './bus/in-process.ts';
export * from './bus/worker-pool.ts';
export * from './job-store/memory.ts';
export * from './log.ts';
export * from './object-store/local.ts';
export * from './postgres/index.ts';
export * from './aws/index.ts';
export * from './observability/index.ts';
