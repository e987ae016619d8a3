import { type ErrorCode, ReconError } from '@recon/contracts';

/**
 * How AWS SDK errors become ReconErrors. The SDK already retries a request a few times; what
 * reaches us is either final (bad config, missing object) or still transient after those retries
 * (throttling, 5xx, network), which callers surface as `transient: true` so the message that
 * caused the work is retried by the queue instead of failing the job.
 */

const TRANSIENT_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'SlowDown',
  'PriorRequestNotComplete',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'KMS.ThrottlingException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

const CONFIG_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'NoSuchBucket',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'ResourceNotFoundException',
]);

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function shape(error: unknown): AwsErrorShape {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
}

/** The AWS error name (`NoSuchKey`, `ThrottlingException`…) or the Node error code (`ECONNRESET`). */
export function awsErrorName(error: unknown): string {
  const e = shape(error);
  if (typeof e.Code === 'string') return e.Code;
  if (typeof e.code === 'string') return e.code;
  if (typeof e.name === 'string') return e.name;
  return 'Error';
}

export function httpStatusOf(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

/** Throttling, a 5xx, a timeout or a broken connection: trying again later can succeed. */
export function isTransientAwsError(error: unknown): boolean {
  if (error instanceof ReconError) return error.transient;
  const e = shape(error);
  const status = httpStatusOf(error);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.Code === 'string' && TRANSIENT_NAMES.has(e.Code)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false;
}

/** A missing S3 object (GetObject says NoSuchKey, HeadObject a bare 404 NotFound). */
export function isObjectNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  return httpStatusOf(error) === 404 && !CONFIG_NAMES.has(name);
}

/** Wraps an SDK error in a ReconError with the right code and `transient` flag; keeps the cause. */
export function toReconError(error: unknown, action: string): ReconError {
  if (error instanceof ReconError) return error;
  const name = awsErrorName(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (isTransientAwsError(error)) {
    return new ReconError('INTERNAL', `${action} failed (${name}: ${detail}); it may succeed if retried`, {
      cause: error,
      transient: true,
    });
  }
  const code: ErrorCode = CONFIG_NAMES.has(name) ? 'INVALID_CONFIG' : 'INTERNAL';
  const hint = code === 'INVALID_CONFIG' ? ' — check the bucket/queue names, region and credentials' : '';
  return new ReconError(code, `${action} failed (${name}: ${detail})${hint}`, { cause: error });
}
