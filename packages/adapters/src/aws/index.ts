/**
 * The adapters of the distributed runtime: S3 object store, SQS/EventBridge publishers, the SQS
 * consumer, and provisioning for tests and the local stack. `fauxqs.ts` and `testing.ts` are
 * test-only (fauxqs is a dev dependency) and deliberately not re-exported here.
 */
export * from './clients.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './eventbridge-publisher.ts';
export * from './provision.ts';
export * from './s3-store.ts';
export * from './sqs-consumer.ts';
export * from './sqs-publisher.ts';
