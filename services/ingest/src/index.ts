export { createIngestHandlers, ingestHandlers } from './app.ts';
export {
  DEFAULT_OBJECT_CREATED_OPTIONS,
  handleObjectCreated,
  type ObjectCreatedOptions,
} from './handlers/object-created.ts';
export * from './request.ts';
