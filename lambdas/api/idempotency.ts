import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { submitRun, type SubmitInput, type SubmitResult } from '../../core/runs/submit';
import type { ApiDeps } from './deps';
import { HttpError } from './http';

/** Idempotency-Key values: what clients commonly send (UUIDs, ULIDs, hashes), nothing that could confuse a log. */
const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{1,255}$/;

export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!idempotencyKeyPattern.test(value)) {
    throw new HttpError(400, 'invalid_request', 'Idempotency-Key must be 1-255 of letters, digits, ".", "_", ":" or "-"', [{ path: 'Idempotency-Key', message: 'invalid header' }]);
  }
  return value;
}

/**
 * Outside Lambda (local mode) there is no invocation deadline; this one bounds how long a submission
 * that crashed mid-way keeps its key "in progress" before the key can be retried.
 */
const localInvocation = { getRemainingTimeInMillis: () => 30_000 } as Partial<Context> as Context;

interface KeyedSubmission extends SubmitInput {
  /** The key as Powertools hashes it: per requester, so two callers can never collide on one key. */
  scope: string;
}

/**
 * submitRun behind Powertools Idempotency: the same requester, key and body get the first answer
 * (the same run); the same key with another body is refused (IdempotencyValidationError → 409).
 * A submission that failed leaves no record, so it can be retried with the same key.
 */
export function idempotentSubmitter(deps: ApiDeps) {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'scope',
    payloadValidationJmesPath: 'request',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: 24 * 60 * 60,
  });
  const submit = makeIdempotent(async (call: KeyedSubmission): Promise<SubmitResult> => submitRun(deps, call), {
    persistenceStore: deps.idempotencyStore,
    config,
    keyPrefix: 'submit-run',
  });
  return (input: SubmitInput & { idempotencyKey: string }, context?: Context): Promise<SubmitResult> => {
    config.registerLambdaContext(context ?? localInvocation);
    return submit({ ...input, scope: `${input.requester}\n${input.idempotencyKey}` });
  };
}
