// Worker threads start here: register the TypeScript loader, then load the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
