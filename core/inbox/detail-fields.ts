/**
 * The names of the type-specific `details` fields that both the runner writes and the console reads:
 * one place, so the two cannot drift. No imports: the console's client bundles this module.
 */

/** A budget approval: the run's budget, what it has spent, and the worst case of the model call that did not fit. */
export const BUDGET_DETAIL_FIELDS = { budget: 'budgetUsd', spent: 'spentUsd', nextCall: 'nextCallUsd' } as const;

/** A plan approval: the proposed plan. */
export const PLAN_DETAIL_FIELD = 'plan';

/**
 * A risky action: the tool, what it would run (`command`, for shell) or change (`path`, for edits),
 * the `approvalRequired` rule it matched, and for an edit the proposed change as lines starting with
 * `-` (text it removes) or `+` (text it writes).
 */
export const RISKY_DETAIL_FIELDS = { tool: 'tool', command: 'command', path: 'path', pattern: 'pattern', change: 'change' } as const;
