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
