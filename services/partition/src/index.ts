export { partitionHandlers } from './app.ts';
export { ShardWriter } from './shard-writer.ts';
