import type { RunnerErrorName, RunnerResult } from '../../core/runs/schemas';

/** How the run ended, as reported to the state machine. */
export type RunEnd = { kind: 'succeeded'; result: RunnerResult } | { kind: 'failed'; error: RunnerErrorName; cause: string };

/** A failure with a short machine-readable code, reported as `Nightshift.RunFailed` with `code: message`. */
export class RunFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

/** The run was stopped from outside (SIGTERM, cancel, the state machine no longer waiting): push work in progress and report. */
export class Interrupted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Interrupted';
  }
}
