export {
  type AdminDeps,
  type AdminOptions,
  buildAdminApp,
  type JobControl,
  type SubmitInput,
  type SubmitResult,
} from './app.ts';
export { type Principal, ROLE_RANK, SessionTokens } from './auth.ts';
export { csvCell } from './csv.ts';
export { ApiError } from './errors.ts';
export { maskItem } from './masking.ts';
