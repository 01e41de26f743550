import { ZodError } from 'zod';
import { describeIssues } from '../../core/config/load';
import {
  BranchCheckUnavailableError,
  BranchNotAllowedError,
  BudgetRefusedError,
  ExecutionStartError,
  IntakePausedError,
  InvalidCursorError,
  RepoNotAllowedError,
  RequestLimitError,
  ReviewNotAllowedError,
  RunNotFoundError,
} from '../../core/errors';
import { RequesterNotAllowedError } from '../../core/runs/access';
import { InboxConflictError, InboxItemNotFoundError, InvalidResolutionError } from '../../core/runs/answer';
import { BudgetExtensionRefusedError } from '../../adapters/dynamodb/budget-ledger';
import { ThreadBudgetError } from '../../adapters/dynamodb/threads';
import { RunEndedError } from '../../core/runs/cancel';
import { HttpError } from './http';

/** Seconds a caller should wait before submitting again while the spend circuit breaker holds intake. */
export const intakePausedRetryAfterSeconds = 300;

/** Seconds a caller should wait before submitting again when GitHub could not be asked about a branch. */
export const branchCheckRetryAfterSeconds = 30;

/**
 * Maps the domain's typed errors to the HTTP answer the caller gets. Anything not listed here is a
 * fault of ours (500), reported without internals.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RepoNotAllowedError) return new HttpError(403, 'repo_not_allowed', err.message);
  if (err instanceof RequesterNotAllowedError) return new HttpError(403, 'requester_not_allowed', err.message);
  if (err instanceof RequestLimitError)
    return new HttpError(400, 'invalid_request', err.message, [{ path: err.field, message: err.message }]);
  if (err instanceof ZodError) {
    const details = describeIssues(err);
    return new HttpError(400, 'invalid_request', 'the request is invalid', details);
  }
  if (err instanceof BudgetRefusedError) {
    return new HttpError(429, 'budget_exhausted', err.message, undefined, {
      'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds))),
    });
  }
  if (err instanceof IntakePausedError) {
    return new HttpError(503, 'intake_paused', err.message, undefined, { 'retry-after': String(intakePausedRetryAfterSeconds) });
  }
  if (err instanceof BranchNotAllowedError)
    return new HttpError(422, 'branch_not_allowed', err.message, [{ path: 'branch', message: err.refusal }]);
  if (err instanceof ReviewNotAllowedError)
    return new HttpError(422, 'review_not_allowed', err.message, [{ path: 'pr', message: err.refusal }]);
  if (err instanceof BranchCheckUnavailableError) {
    return new HttpError(503, 'branch_check_unavailable', err.message, undefined, { 'retry-after': String(branchCheckRetryAfterSeconds) });
  }
  if (err instanceof RunNotFoundError) return new HttpError(404, 'run_not_found', err.message);
  if (err instanceof RunEndedError) return new HttpError(409, 'run_ended', err.message);
  if (err instanceof InboxItemNotFoundError) return new HttpError(404, 'inbox_item_not_found', 'no inbox item with this id');
  if (err instanceof InvalidResolutionError) return new HttpError(400, 'invalid_resolution', err.message);
  if (err instanceof InboxConflictError) return new HttpError(409, 'inbox_item_resolved', err.message);
  // A budget_approval the limits do not allow: the item stays open (approve less, or reject).
  if (err instanceof BudgetExtensionRefusedError) return new HttpError(400, 'budget_extension_refused', err.message);
  if (err instanceof ThreadBudgetError) return new HttpError(429, 'thread_budget_exhausted', err.message);
  if (err instanceof InvalidCursorError)
    return new HttpError(400, 'invalid_cursor', err.message, [{ path: 'cursor', message: err.message }]);
  if (err instanceof ExecutionStartError) {
    return new HttpError(
      503,
      'execution_start_failed',
      `run ${err.runId} could not be started and was ended FAILED; submit again`,
      undefined,
      { 'retry-after': '5' },
    );
  }
  return new HttpError(500, 'internal_error', 'internal error; quote the x-request-id header when reporting it');
}
