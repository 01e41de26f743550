import { createHash } from 'node:crypto';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { submitRun, type SubmitInput, type SubmitResult } from '../../core/runs/submit';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { optionalEnv } from '../../core/env';
import { documentClientFor, tableNamesFromEnv } from '../../adapters/dynamodb/client';
import { createIdempotencyRecords, type IdempotencyRecordsPort } from '../../adapters/dynamodb/idempotency-records';
import { lambdaBranchFacts, lambdaPullFacts } from '../github/branch-facts-client';
import type { SubmitDeps } from '../../core/runs/submit';
import { apiDynamoClient, submitDepsFromEnv, type ApiDeps } from './deps';
import { HttpError } from './http';

/** What `POST /v1/runs` needs: a submission's deps and the Idempotency-Key records. */
export type SubmitRouteDeps = SubmitDeps & { idempotencyRecords: IdempotencyRecordsPort };

/** Every route's deps with the Idempotency-Key records: what the API tests give all routes. */
export type SubmitApiDeps = ApiDeps & SubmitRouteDeps;

/** How long a key answers with its first submission. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60;

export function submitApiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SubmitRouteDeps {
  const dynamo = apiDynamoClient(env);
  const branchFactsFunction = optionalEnv('BRANCH_FACTS_FUNCTION', env);
  const lambda = branchFactsFunction ? new LambdaClient({}) : undefined;
  return {
    ...submitDepsFromEnv(env, dynamo),
    // Only the submit function is granted this function; the others never call it (a branch or a review's pull request is only submitted).
    ...(lambda && branchFactsFunction
      ? { branchFacts: lambdaBranchFacts(lambda, branchFactsFunction), pullFacts: lambdaPullFacts(lambda, branchFactsFunction) }
      : {}),
    idempotencyRecords: createIdempotencyRecords(documentClientFor(dynamo), tableNamesFromEnv(env).idempotency, {
      ttlSeconds: IDEMPOTENCY_KEY_TTL_SECONDS,
    }),
  };
}

/** Idempotency-Key values: what clients commonly send (UUIDs, ULIDs, hashes), nothing that could confuse a log. */
const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{1,255}$/;

export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!idempotencyKeyPattern.test(value)) {
    throw new HttpError(400, 'invalid_request', 'Idempotency-Key must be 1-255 of letters, digits, ".", "_", ":" or "-"', [
      { path: 'Idempotency-Key', message: 'invalid header' },
    ]);
  }
  return value;
}

/**
 * Outside Lambda (local mode) there is no invocation deadline; this one bounds how long a submission
 * that crashed mid-way keeps its key "in progress" before the key can be retried.
 */
const LOCAL_IN_PROGRESS_MS = 30_000;

/**
 * The digest records are keyed and checked by: md5, base64, of the JSON with object keys sorted
 * case-insensitively, exactly as Powertools Idempotency computed it, so that the records it wrote
 * (up to a day before the switch) keep answering their keys. Not a secret: the key is scoped by the
 * requester before it is hashed, and the stored body digest only tells bodies apart.
 */
function recordDigest(value: unknown): string {
  return createHash('md5')
    .update(JSON.stringify(withSortedKeys(value)))
    .digest('base64');
}

function withSortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withSortedKeys);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  return Object.fromEntries(keys.map((k) => [k, withSortedKeys(object[k])]));
}

/** The record's id: per requester, so two callers can never collide on one key. */
export const submitRecordId = (requester: string, idempotencyKey: string) =>
  `submit-run#${recordDigest(`${requester}\n${idempotencyKey}`)}`;

/** What a completed record stores: the first submission's answer. */
const StoredSubmitResult = z.object({ runId: z.string().min(1), status: z.literal('QUEUED') });

/** What the submitter answers: the run, and whether this call created it (false for a replayed key). */
export interface KeyedSubmitResult extends SubmitResult {
  replayed: boolean;
}

/**
 * submitRun behind the Idempotency-Key: the same requester, key and body get the first answer (the
 * same run); the same key with another body is refused (409 idempotency_key_reused), and so is a key
 * whose first submission is still running (409 idempotency_in_progress). A submission that failed
 * leaves no record, so it can be retried with the same key.
 */
export async function submitIdempotently(
  deps: SubmitRouteDeps,
  input: SubmitInput & { idempotencyKey: string },
  context?: Context,
): Promise<KeyedSubmitResult> {
  const id = submitRecordId(input.requester, input.idempotencyKey);
  const payloadHash = recordDigest(input.request);
  const claim = await deps.idempotencyRecords.claim(id, payloadHash, context ? context.getRemainingTimeInMillis() : LOCAL_IN_PROGRESS_MS);
  if (claim.outcome === 'payload_mismatch') {
    throw new HttpError(409, 'idempotency_key_reused', 'this Idempotency-Key was used with another request body');
  }
  if (claim.outcome === 'in_progress') {
    throw new HttpError(409, 'idempotency_in_progress', 'a request with this Idempotency-Key is still being processed', undefined, {
      'retry-after': '1',
    });
  }
  if (claim.outcome === 'completed') return { ...StoredSubmitResult.parse(claim.response), replayed: true };
  let result: SubmitResult;
  try {
    result = await submitRun(deps, input);
  } catch (err) {
    await deps.idempotencyRecords.release(id);
    throw err;
  }
  await deps.idempotencyRecords.complete(id, payloadHash, { runId: result.runId, status: result.status });
  return { ...result, replayed: false };
}
