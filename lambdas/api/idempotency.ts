import { randomUUID } from 'node:crypto';
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
  /** Names this call (not hashed): whether submitRun ran for it, or the answer is a replay. */
  attempt: string;
}

/** What the submitter answers: the run, and whether this call created it (false for a replayed key). */
export interface KeyedSubmitResult extends SubmitResult {
  replayed: boolean;
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
  const executed = new Set<string>();
  const submit = makeIdempotent(
    async ({ attempt, scope: _scope, ...call }: KeyedSubmission): Promise<SubmitResult> => {
      const result = await submitRun(deps, call);
      executed.add(attempt);
      return result;
    },
    { persistenceStore: deps.idempotencyStore, config, keyPrefix: 'submit-run' },
  );
  return async (input: SubmitInput & { idempotencyKey: string }, context?: Context): Promise<KeyedSubmitResult> => {
    config.registerLambdaContext(context ?? localInvocation);
    const attempt = randomUUID();
    try {
      const result = await submit({ ...input, scope: `${input.requester}\n${input.idempotencyKey}`, attempt });
      return { ...result, replayed: !executed.has(attempt) };
    } finally {
      executed.delete(attempt);
    }
  };
}
