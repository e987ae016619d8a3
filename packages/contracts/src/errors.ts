/**
 * Errors with a stable code, a message a person can act on, and the cause kept.
 * Codes are listed once here; the CLI and the admin API map them to exit codes / HTTP statuses.
 */
export const ERROR_CODES = {
  FILE_EMPTY: 'the vendor file has no bytes',
  FILE_HEADER_ONLY: 'the vendor file has a header but no data lines',
  INVALID_HEADER: 'the header does not hold exactly the six expected columns',
  UNTERMINATED_QUOTE: 'a quoted field is never closed before the end of the file',
  FILE_NOT_UTF8: 'the file is not valid UTF-8',
  FILE_NOT_FOUND: 'an input file does not exist',
  INVALID_ARGUMENT: 'a command-line option or request parameter is invalid',
  INVALID_CONFIG: 'the configuration is invalid',
  INVALID_MESSAGE: 'a message does not match its schema',
  BASE_UNAVAILABLE: 'the internal base could not be read',
  OBJECT_NOT_FOUND: 'an object is missing from the object store',
  JOB_FAILED: 'the job failed',
  JOB_RUNNING: 'another job is already reconciling the same reference date',
  DEADLINE_EXCEEDED: 'the job passed its deadline',
  CANCELLED: 'an operator cancelled the job',
  INTERNAL: 'an unexpected internal error',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class ReconError extends Error {
  override name = 'ReconError';
  readonly code: ErrorCode;
  /** Whether retrying the same step can succeed (network, throttling); bad input never is. */
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

/** The vendor file as a whole is unusable (RULES §2: empty, bad header, not UTF-8). */
export class FileRejectedError extends ReconError {
  override name = 'FileRejectedError';
}

export function isReconError(error: unknown): error is ReconError {
  return error instanceof ReconError;
}
