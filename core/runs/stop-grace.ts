/**
 * How long a runner has between SIGTERM and SIGKILL: one number for the task definition, local mode and
 * the runner itself. A stop, a timeout and a Fargate Spot interruption all arrive as SIGTERM; in that time
 * the runner pushes its work in progress, stores its trace and reports. 120 s is Fargate's maximum
 * `stopTimeout` and matches Spot's two-minute warning.
 */
export const RUNNER_STOP_TIMEOUT_SECONDS = 120;

/** The runner exits on its own this long before the stop timeout, so that the exit is its own and not a SIGKILL. */
export const RUNNER_EXIT_MARGIN_SECONDS = 2;

/** Milliseconds after SIGTERM at which the runner gives up and exits, for a stop timeout of `stopTimeoutSeconds`. */
export function runnerGiveUpAfterMs(stopTimeoutSeconds: number = RUNNER_STOP_TIMEOUT_SECONDS): number {
  if (!Number.isInteger(stopTimeoutSeconds) || stopTimeoutSeconds < 1)
    throw new RangeError(`stop timeout must be a positive whole number of seconds, got ${stopTimeoutSeconds}`);
  // A grace too short for the margin still leaves the runner most of it.
  return Math.max(stopTimeoutSeconds - RUNNER_EXIT_MARGIN_SECONDS, stopTimeoutSeconds / 2) * 1000;
}
