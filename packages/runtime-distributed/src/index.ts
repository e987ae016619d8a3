export * from './config.ts';
export * from './handling.ts';
export * from './job-control.ts';
export * from './service.ts';
