import { isReconError } from '@recon/contracts';
import type { FastifyError, FastifyInstance } from 'fastify';

/** The API's error codes and their HTTP statuses (docs/admin-api.md). */
export const API_ERRORS = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  FILE_REJECTED: 422,
  PAYLOAD_TOO_LARGE: 413,
  JOB_RUNNING: 409,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  get status(): number {
    return API_ERRORS[this.code];
  }
  /** Fastify and its plugins read the status from here. */
  get statusCode(): number {
    return this.status;
  }
}

/** ReconError codes of a rejected file (RULES §2): the caller's input, 422. */
const FILE_CODES = new Set([
  'FILE_EMPTY',
  'FILE_HEADER_ONLY',
  'INVALID_HEADER',
  'UNTERMINATED_QUOTE',
  'FILE_NOT_UTF8',
]);

/** Any error as the API's `{ error: { code, message, details? } }` and its status. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isReconError(error)) {
    if (FILE_CODES.has(error.code))
      return new ApiError('FILE_REJECTED', error.message, { reason: error.code });
    if (error.code === 'JOB_RUNNING') return new ApiError('JOB_RUNNING', error.message);
    if (error.code === 'INVALID_ARGUMENT') return new ApiError('INVALID_ARGUMENT', error.message);
    if (error.code === 'FILE_NOT_FOUND' || error.code === 'OBJECT_NOT_FOUND')
      return new ApiError('NOT_FOUND', error.message);
    return new ApiError('INTERNAL', error.message, { reason: error.code });
  }
  const fe = error as Partial<FastifyError>;
  if (fe.validation !== undefined) {
    return new ApiError('INVALID_ARGUMENT', `invalid request: ${fe.message ?? 'validation failed'}`);
  }
  if (fe.code === 'FST_REQ_FILE_TOO_LARGE' || fe.statusCode === 413) {
    return new ApiError('PAYLOAD_TOO_LARGE', fe.message ?? 'the upload is larger than allowed');
  }
  if (fe.statusCode === 429) return new ApiError('RATE_LIMITED', fe.message ?? 'too many requests');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(
      fe.statusCode === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT',
      fe.message ?? 'bad request',
    );
  }
  return new ApiError('INTERNAL', error instanceof Error ? error.message : String(error));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(api.status).send({
      error: { code: api.code, message: api.message, ...(api.details ? { details: api.details } : {}) },
    });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });
}
