import type { RunnerPause } from '../../core/inbox/pause-report';
import type { RunnerErrorName, RunnerResult } from '../../core/runs/schemas';

/** How the runner task ended, as reported to the state machine: the run ended, or it paused for a human. */
export type RunEnd =
  | { kind: 'succeeded'; result: RunnerResult }
  | { kind: 'failed'; error: RunnerErrorName; cause: string }
  | { kind: 'paused'; report: RunnerPause };

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
