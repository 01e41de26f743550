import { RunStates } from '../../infra/constructs/orchestrator';

/**
 * The states of the run state machine a run enters on its common paths, in order, for the
 * orchestration tests' `statesEntered` checks: one list per path, so a change to the definition is
 * one change here.
 */

/** Admitted at once, its runner runs once and succeeds or fails, Finalize ends it. */
export const admittedRanEnded: readonly string[] = [
  RunStates.admit,
  RunStates.admitted,
  RunStates.runRunner,
  RunStates.paused,
  RunStates.finalize,
  RunStates.done,
];

/** Queued by its first Admit, woken by a freed slot, admitted on the second pass, then as `admittedRanEnded`. */
export const queuedWokenRanEnded: readonly string[] = [RunStates.admit, RunStates.admitted, ...admittedRanEnded];
