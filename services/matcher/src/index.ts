export { matcherHandlers } from './app.ts';
export { classifyShard, type ShardInput, type ShardOutput } from './classify.ts';
export { DEFAULT_SEVERITY, type SeverityPolicy } from './severity.ts';
