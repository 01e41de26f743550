import { randomUUID } from 'node:crypto';
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyValidationError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { submitRun, type SubmitInput, type SubmitResult } from '../../core/runs/submit';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { optionalEnv } from '../../core/env';
import { tableNamesFromEnv } from '../../core/store/client';
import { idempotencyKeys } from '../../core/store/tables';
import { lambdaBranchFacts, lambdaPullFacts } from '../github/branch-facts-client';
import type { SubmitDeps } from '../../core/runs/submit';
import { apiDynamoClient, submitDepsFromEnv, type ApiDeps } from './deps';
import { HttpError } from './http';

/** What `POST /v1/runs` needs: a submission's deps and Powertools Idempotency's store for the Idempotency-Key header. */
export type SubmitRouteDeps = SubmitDeps & { idempotencyStore: BasePersistenceLayer };

/** Every route's deps with the idempotency store: what the API tests give all routes. */
export type SubmitApiDeps = ApiDeps & SubmitRouteDeps;

export function submitApiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SubmitRouteDeps {
  const dynamo = apiDynamoClient(env);
  const branchFactsFunction = optionalEnv('BRANCH_FACTS_FUNCTION', env);
  const lambda = branchFactsFunction ? new LambdaClient({}) : undefined;
  return {
    ...submitDepsFromEnv(env, dynamo),
    // Only the submit function is granted this function; the others never call it (a branch or a review's pull request is only submitted).
    ...(lambda && branchFactsFunction ? { branchFacts: lambdaBranchFacts(lambda, branchFactsFunction), pullFacts: lambdaPullFacts(lambda, branchFactsFunction) } : {}),
    idempotencyStore: new DynamoDBPersistenceLayer({
      tableName: tableNamesFromEnv(env).idempotency,
      keyAttr: idempotencyKeys.partitionKey,
      expiryAttr: idempotencyKeys.ttlAttribute,
      awsSdkV3Client: dynamo,
    }),
  };
}

/** Powertools Idempotency's refusals as the caller sees them. */
function idempotencyHttpError(err: unknown): unknown {
  if (err instanceof IdempotencyValidationError) {
    return new HttpError(409, 'idempotency_key_reused', 'this Idempotency-Key was used with another request body');
  }
  if (err instanceof IdempotencyAlreadyInProgressError) {
    return new HttpError(409, 'idempotency_in_progress', 'a request with this Idempotency-Key is still being processed', undefined, { 'retry-after': '1' });
  }
  return err;
}

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
export function idempotentSubmitter(deps: SubmitRouteDeps) {
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
    } catch (err) {
      throw idempotencyHttpError(err);
    } finally {
      executed.delete(attempt);
    }
  };
}
