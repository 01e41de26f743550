import { ReplayDivergedError, ReplayExhaustedError } from './replay-provider';

/**
 * A provider refused the request before the model ran (validation, authorization, throttling): the
 * call was not billed. Providers throw it (or an AWS SDK error named below) only when that is certain.
 */
export class ModelRequestRejectedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelRequestRejectedError';
  }
}

/** Bedrock's errors that are answered before inference starts (4xx: the request never reached the model). */
const unbilledAwsErrorNames = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'ModelNotReadyException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
]);

/**
 * True only for failures known to happen before billing. Everything else (a 5xx, a model error, a
 * timeout, a response that arrived and failed to parse, a connection reset after generation) may have
 * been billed, so its reservation is settled at the worst case: invariant 1 holds on error paths too.
 */
export function isUnbilledModelError(err: unknown): boolean {
  if (err instanceof ModelRequestRejectedError || err instanceof ReplayExhaustedError || err instanceof ReplayDivergedError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (typeof e.name !== 'string' || !unbilledAwsErrorNames.has(e.name)) return false;
  const status = e.$metadata?.httpStatusCode;
  // A named error with a status outside 4xx is not what the name promises: treat it as billed.
  return status === undefined || (typeof status === 'number' && status >= 400 && status < 500);
}
