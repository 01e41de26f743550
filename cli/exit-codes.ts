import type { RunStatus } from '../core/runs/lifecycle';

/** `submit --wait` exits with the run's outcome, so scripts can branch on it. */
export const exitCodes = {
  ok: 0,
  /** An API error, a bad argument, an unreachable API. */
  error: 1,
  FAILED: 2,
  TIMED_OUT: 3,
  CANCELLED: 4,
  BUDGET_EXCEEDED: 5,
} as const;

export function exitCodeOfStatus(status: RunStatus): number {
  switch (status) {
    case 'SUCCEEDED':
      return exitCodes.ok;
    case 'FAILED':
    case 'TIMED_OUT':
    case 'CANCELLED':
    case 'BUDGET_EXCEEDED':
      return exitCodes[status];
    default:
      return exitCodes.error;
  }
}
