/**
 * The checkpoint (technical document §2.6) and resuming from it have one home, shared with the
 * distributed services: packages/contracts/src/checkpoint.ts.
 */
export {
  buildCheckpoint,
  type Checkpoint,
  type CheckpointStatus,
  checkpointKey,
  type ResumeMode,
  readCheckpoint,
  restoreFromCheckpoint,
  resumeJob,
  stopJob,
  writeCheckpoint,
} from '@recon/contracts';
