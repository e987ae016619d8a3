export * from './divergence.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './ports.ts';
export * from './records.ts';
export * from './routes.ts';
export * from './summary.ts';
