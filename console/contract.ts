import type { ClassifiedDiff } from '../core/console/risky-diff';

/**
 * The shapes the console server answers under `/_console` and the page reads: types only, shared by
 * console/server (Node) and console/client (the browser).
 */

/** What the submit form offers: the allowlist and the budget defaults and caps. */
export interface ConsoleConfig {
  /** `local` (local mode) or `stack` (a deployed stack through `nightshift console`). */
  mode: 'local' | 'stack';
  /** Where the API is, to show in the header. */
  api: string;
  repos: { name: string; budgetUsd: number; maxMinutes: number }[];
  budgets: { perRunUsd: number; maxPerRunUsd: number };
  /** Whether `/_console/runs/{id}/diff` can answer (local mode reads the forge's repositories; a deployed stack's console asks GET /v1/runs/{runId}/diff). */
  diffs: boolean;
}

export interface RunDiff {
  repo: string;
  base: string;
  head: string;
  diff: ClassifiedDiff;
}

export interface PullView {
  repo: string;
  number: number;
  title: string;
  /** Model-written markdown: the page renders a safe subset as text nodes. */
  body: string;
  state: 'open' | 'closed';
  draft: boolean;
  base: string;
  head: string;
  createdAt: string;
  diff: ClassifiedDiff;
}
