/**
 * The run statuses as plain lists, without zod, so the web console's browser bundle can import them:
 * core/runs/lifecycle.ts builds its schemas from these, and the console's filters and live views read
 * them, so a status added here reaches both.
 */
export const RUN_STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'WAITING_FOR_HUMAN',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
  'BUDGET_EXCEEDED',
] as const;

export const TERMINAL_STATUSES = [
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
  'BUDGET_EXCEEDED',
] as const satisfies readonly (typeof RUN_STATUSES)[number][];

export const ACTIVE_STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'WAITING_FOR_HUMAN',
] as const satisfies readonly (typeof RUN_STATUSES)[number][];
