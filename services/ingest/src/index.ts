export { ingestHandlers } from './app.ts';
export * from './request.ts';
