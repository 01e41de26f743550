/**
 * An error as the Step Functions API returns it: `name` is the API's error code (InvalidToken,
 * TaskTimedOut, ExecutionAlreadyExists, ...), so a loopback endpoint can answer with `__type` = name.
 */
export class StepFunctionsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** How a task state fails inside an execution: `name` is the ASL error (`States.Timeout`, `Nightshift.RunFailed`), the message its cause. */
export class TaskStateError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * Ends a task of a stopped execution. The interpreter neither retries nor catches it, so nothing
 * runs after a stop; it also releases the interpreter's own task timer.
 */
export class ExecutionStoppedError extends TaskStateError {
  readonly isRetryable = false;
  readonly isCatchable = false;

  constructor() {
    super('States.Runtime', 'the execution was stopped');
  }
}
