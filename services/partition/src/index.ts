export { partitionHandlers } from './app.ts';
