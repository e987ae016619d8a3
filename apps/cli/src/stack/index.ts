export { type Dropped, dropFile, findJob, type JobRow, readSummary, waitForJob } from './drop.ts';
export {
  type LogRecord,
  SERVICES,
  type ServiceName,
  type ServiceProcess,
  Stack,
  type StackOptions,
  type StackState,
} from './stack.ts';
