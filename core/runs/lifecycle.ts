import * as z from 'zod';
import { ACTIVE_STATUSES, RUN_STATUSES, TERMINAL_STATUSES } from './statuses';

export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const terminalStatuses = TERMINAL_STATUSES;
export type TerminalStatus = (typeof terminalStatuses)[number];
export const TerminalStatus = z.enum(terminalStatuses);

export const activeStatuses = ACTIVE_STATUSES;

export const RunOutcome = z.enum(['pr_opened', 'pr_updated', 'no_changes', 'question', 'reviewed']);
export type RunOutcome = z.infer<typeof RunOutcome>;

export const RunSource = z.enum(['api', 'cli', 'github_issue', 'github_comment', 'github_ci', 'schedule']);
export type RunSource = z.infer<typeof RunSource>;

/** `change` edits, pushes and opens or updates a draft PR; `review` reads a PR, pushes nothing and posts one COMMENT review. */
export const RunKind = z.enum(['change', 'review']);
export type RunKind = z.infer<typeof RunKind>;

const allowed: Record<RunStatus, readonly RunStatus[]> = {
  QUEUED: ['STARTING', 'CANCELLED', 'FAILED', 'TIMED_OUT'],
  // A task interrupted or lost after a checkpoint re-queues the run without a human (core/runs/automatic-resume.ts).
  STARTING: ['RUNNING', 'QUEUED', ...terminalStatuses],
  RUNNING: ['WAITING_FOR_HUMAN', 'QUEUED', ...terminalStatuses],
  // An answer re-queues the run: it takes slots again under the caps before a new task starts.
  WAITING_FOR_HUMAN: ['QUEUED', ...terminalStatuses],
  SUCCEEDED: [],
  FAILED: [],
  TIMED_OUT: [],
  CANCELLED: [],
  BUDGET_EXCEEDED: [],
};

export function isTerminal(status: RunStatus): status is TerminalStatus {
  return (terminalStatuses as readonly RunStatus[]).includes(status);
}

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return allowed[from].includes(to);
}

/** The statuses a run may be in for a move to `to` to be legal (used as a DynamoDB condition). */
export function statusesAllowedBefore(to: RunStatus): RunStatus[] {
  return RunStatus.options.filter((from) => canTransition(from, to));
}

/** Thrown when a run is asked to move along an edge the lifecycle does not have. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly runId: string,
    readonly from: RunStatus,
    readonly to: RunStatus,
  ) {
    super(`run ${runId} cannot move from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The Fargate capacity a run's task runs on (the execution input asks, the run record's automatic resumes may move it). */
export const CapacityProvider = z.enum(['FARGATE', 'FARGATE_SPOT']);
export type CapacityProvider = z.infer<typeof CapacityProvider>;
