/**
 * Typed domain errors. Handlers map them to HTTP statuses (lambdas/api/http-response.ts); the state
 * machine's Lambda tasks let them throw so Retry/Catch can act.
 */
export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
    this.name = 'RunNotFoundError';
  }
}

/** The repository is not in the configuration's `repos` allowlist (HTTP 403 at the API; a refusal at the brokers). */
export class RepoNotAllowedError extends Error {
  constructor(readonly repo: string) {
    super(`${repo} is not in the repos allowlist`);
    this.name = 'RepoNotAllowedError';
  }
}

/** A request field exceeds a limit that depends on configuration (HTTP 400, naming the field). */
export class RequestLimitError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RequestLimitError';
  }
}

/** The spend circuit breaker has paused intake (HTTP 503 with Retry-After). */
export class IntakePausedError extends Error {
  constructor(readonly reason: string | null) {
    super(`run intake is paused${reason ? `: ${reason}` : ''}`);
    this.name = 'IntakePausedError';
  }
}

/** `branch` names a branch the run must not push (invariant 7): the default, base or a protected branch, an alias, or a foreign branch (HTTP 422). */
export class BranchNotAllowedError extends Error {
  constructor(
    readonly branch: string,
    readonly refusal: string,
  ) {
    super(`branch ${branch} cannot be continued: ${refusal}`);
    this.name = 'BranchNotAllowedError';
  }
}

/** `pr` names a pull request a review run may not review: unknown, closed, or from a fork (HTTP 422). */
export class ReviewNotAllowedError extends Error {
  constructor(
    readonly pr: number,
    readonly refusal: string,
  ) {
    super(`pull request #${pr} cannot be reviewed: ${refusal}`);
    this.name = 'ReviewNotAllowedError';
  }
}

/** GitHub could not say whether `branch` may be continued; nothing was written (HTTP 503 with Retry-After). */
export class BranchCheckUnavailableError extends Error {
  constructor(
    readonly branch: string,
    options: { cause: unknown },
  ) {
    super(`GitHub could not be asked about branch ${branch}; nothing was submitted, try again`, options);
    this.name = 'BranchCheckUnavailableError';
  }
}

/** The state machine execution could not be started; the run was ended FAILED and its budget returned. */
export class ExecutionStartError extends Error {
  constructor(
    readonly runId: string,
    options: { cause: unknown },
  ) {
    super(`the execution of run ${runId} could not be started`, options);
    this.name = 'ExecutionStartError';
  }
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursorError';
  }
}

/** A submission the daily budgets cannot cover (HTTP 429 with Retry-After). */
export class BudgetRefusedError extends Error {
  constructor(
    readonly scope: 'requester' | 'org',
    readonly retryAfterSeconds: number,
  ) {
    super(scope === 'org' ? "the organisation's daily budget cannot cover this run" : "the requester's daily budget cannot cover this run");
    this.name = 'BudgetRefusedError';
  }
}

/** A model call that no longer fits in the run's budget. */
export class BudgetExhaustedError extends Error {
  constructor(
    readonly runId: string,
    readonly neededMicros: number,
    readonly availableMicros: number,
  ) {
    super(`run ${runId} has ${availableMicros} micro-USD left, needs ${neededMicros}`);
    this.name = 'BudgetExhaustedError';
  }
}

/** The thread cannot cover the run's budget (config `budgets.perThreadUsd`). */
export class ThreadBudgetError extends Error {
  constructor(
    readonly thread: string,
    readonly committedMicros: number,
    readonly capMicros: number,
  ) {
    super(`thread ${thread} has committed ${committedMicros} of its ${capMicros} micro-USD (budgets.perThreadUsd)`);
    this.name = 'ThreadBudgetError';
  }
}

/** Someone resolved the item between our read and our write. */
export class InboxItemNotOpenError extends Error {
  constructor(readonly itemId: string) {
    super(`inbox item ${itemId} is not open`);
    this.name = 'InboxItemNotOpenError';
  }
}

/** A run key is only issued to a run that is about to launch. */
export class RunNotLaunchableError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} is not STARTING or RUNNING; no run key is issued`);
    this.name = 'RunNotLaunchableError';
  }
}

/** A budget extension the run cannot take: it ended, or its budget would pass `budgets.maxPerRunUsd`. */
export class BudgetExtensionRefusedError extends Error {
  constructor(
    readonly runId: string,
    reason: string,
  ) {
    super(`run ${runId} cannot take more budget: ${reason}`);
    this.name = 'BudgetExtensionRefusedError';
  }
}
