export * from './config.ts';
export * from './handling.ts';
export * from './service.ts';
