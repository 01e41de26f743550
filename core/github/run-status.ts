import type { TestDelta } from '../console/run-insights';
import { microsToUsd } from '../pricing';
import type { RunRecord } from '../store/ports';
import { inertMarkdown } from '../text/inert-markdown';

/**
 * What a run shows on GitHub (docs/github-app.md, Progress on GitHub): ONE status comment per run on its thread,
 * edited in place as the run goes queued → running (→ waiting for a human → queued → running)* → ended, and a check run named Nightshift on the
 * pull request's head commit once it ends. Pure: the writers are the webhook function (queued at
 * submit, waiting and resumed, the result when the run's execution ends: core/github/run-status-report.ts) and the runner
 * (running, with its run token: runner/session/status-progress.ts). docs/github-app.md says who writes what.
 */

export const CHECK_RUN_NAME = 'Nightshift';

/** Model- and agent-written text (a summary, an error) is shown as inert Markdown: no links out, no images, no mentions. */
function inert(text: string): string {
  return inertMarkdown(text, { allowedUrlPrefixes: [] });
}

const usd = (micros: number) => `$${microsToUsd(micros).toFixed(2)}`;
const head = (runId: string) => `**Nightshift** run \`${runId}\``;

export interface QueuedStatus {
  runId: string;
  /** The run of the same thread this one waits behind, if any. */
  behind: string | null;
  /** Its place in the platform's queue when it was submitted (1 = next; core/runs/admission.ts). */
  position: number;
  budgetMicros: number;
}

export function queuedComment(s: QueuedStatus): string {
  const where = s.behind
    ? `queued behind run \`${s.behind}\` of this thread; it starts when that one ends.`
    : s.position > 1
      ? `queued, position ${s.position} in the queue.`
      : 'queued; it starts as soon as a slot is free.';
  return `${head(s.runId)}: ⏳ ${where}\n\nBudget ${usd(s.budgetMicros)}. This comment is updated as the run goes.`;
}

export interface RunningStatus {
  runId: string;
  /** Model turns so far (0 while the workspace is prepared). */
  turns: number;
  spentMicros: number;
  budgetMicros: number;
}

export function runningComment(s: RunningStatus): string {
  const doing =
    s.turns === 0
      ? 'preparing the workspace and running the tests at base'
      : `working: ${s.turns} model turn${s.turns === 1 ? '' : 's'} so far`;
  return `${head(s.runId)}: 🏃 running, ${doing}.\n\nCost so far ${usd(s.spentMicros)} of the ${usd(s.budgetMicros)} budget. This comment is updated as the run goes.`;
}

/** What a waiting run waits for, by its pause reason (an inbox item type); any other reason reads as a person's input. */
const WAITING_FOR: Record<string, { what: string; noun: string }> = {
  question: { what: 'an answer', noun: 'question' },
  stuck: { what: 'a hint (it is stuck)', noun: 'question' },
  plan_approval: { what: 'an approval of its plan', noun: 'plan' },
  risky_action: { what: 'an approval of a risky action', noun: 'request' },
  budget_approval: { what: 'an approval of more budget', noun: 'request' },
};

export interface WaitingStatus {
  runId: string;
  /** The pause reason: the type of the inbox item the run waits on. */
  reason: string;
  itemId: string;
  spentMicros: number;
  budgetMicros: number;
}

/**
 * WAITING_FOR_HUMAN: the run stopped and waits for a person. The question itself is a comment of its
 * own, posted after this one (core/github/inbox-on-thread.ts), so this one points below.
 */
export function waitingComment(s: WaitingStatus): string {
  const w = WAITING_FOR[s.reason] ?? { what: 'a person', noun: 'request' };
  return `${head(s.runId)}: ⏸️ waiting for ${w.what} — see the ${w.noun} below (item \`${s.itemId}\` in the inbox). It holds no slot while it waits.\n\nCost so far ${usd(s.spentMicros)} of the ${usd(s.budgetMicros)} budget. This comment is updated when the run goes on.`;
}

export interface ResumedStatus {
  runId: string;
  /** How the item it waited on was resolved (`answer`, `approve`, `reject`), when known. */
  action: string | undefined;
  spentMicros: number;
  budgetMicros: number;
}

/** WAITING_FOR_HUMAN → QUEUED: resolved, the run waits for a slot to go on from where it stopped. */
export function resumedComment(s: ResumedStatus): string {
  const how = s.action === 'answer' ? 'answered' : s.action === 'approve' ? 'approved' : s.action === 'reject' ? 'rejected' : 'resolved';
  return `${head(s.runId)}: ⏳ ${how}; queued to go on from where it stopped, as soon as a slot is free.\n\nCost so far ${usd(s.spentMicros)} of the ${usd(s.budgetMicros)} budget. This comment is updated as the run goes.`;
}

export interface EndedStatus {
  run: Pick<RunRecord, 'runId' | 'status' | 'outcome' | 'prUrl' | 'branch' | 'error' | 'spentMicros' | 'budgetMicros'>;
  turns: number;
  /** The runner's summary (the final status event's reason for a SUCCEEDED run), model-written. */
  summary: string | null;
  tests: TestDelta;
}

/** Why a run did not succeed, in words a person on the pull request reads without knowing Nightshift's codes. */
export function failureInPlainWords(run: Pick<RunRecord, 'status' | 'error'>): string {
  const code = run.error?.code ?? '';
  const detail = run.error?.message ? ` (${run.error.message})` : '';
  switch (run.status) {
    case 'BUDGET_EXCEEDED':
      return `It ran out of budget before it finished${detail}. Work in progress, if any, is on the run branch.`;
    case 'TIMED_OUT':
      if (code === 'queue_timeout') return 'It waited too long for a free slot and never started.';
      if (code === 'no_answer') return 'It asked a question that nobody answered in time. Work in progress is on the run branch.';
      return `It ran out of time (its maxMinutes)${detail}. Work in progress, if any, is on the run branch.`;
    case 'CANCELLED':
      return `It was cancelled${detail}.`;
    case 'FAILED':
      if (code === 'no_progress') return `It stopped making progress and was ended${detail}.`;
      if (code === 'admission_failed') return `It could not be started${detail}.`;
      return `It failed${detail}.`;
    default:
      return `It ended ${run.status}${detail}.`;
  }
}

export function testDeltaLine(tests: TestDelta): string {
  const side = (s: TestDelta['base']) =>
    s
      ? `${s.passed ? 'passing' : 'failing'} (${s.total} test${s.total === 1 ? '' : 's'}${s.failed.length ? `, ${s.failed.length} failed` : ''})`
      : 'not run';
  if (!tests.base && !tests.head) return 'Tests: no test command ran.';
  const changes = [
    tests.newlyFailing.length
      ? `newly failing: ${tests.newlyFailing
          .slice(0, 10)
          .map((t) => `\`${t.replace(/`/g, "'")}\``)
          .join(', ')}`
      : '',
    tests.newlyPassing.length
      ? `newly passing: ${tests.newlyPassing
          .slice(0, 10)
          .map((t) => `\`${t.replace(/`/g, "'")}\``)
          .join(', ')}`
      : '',
  ].filter((c) => c);
  return `Tests: ${side(tests.base)} at base → ${side(tests.head)} at head${changes.length ? `; ${changes.join('; ')}` : ''}.`;
}

export function endedComment(s: EndedStatus): string {
  const { run } = s;
  const cost = `Cost ${usd(run.spentMicros)} of the ${usd(run.budgetMicros)} budget, ${s.turns} model turn${s.turns === 1 ? '' : 's'}.`;
  if (run.status === 'SUCCEEDED') {
    const what =
      run.outcome === 'pr_opened'
        ? `✅ opened a draft pull request: ${run.prUrl}`
        : run.outcome === 'pr_updated'
          ? `✅ pushed new commits to ${run.prUrl}`
          : run.outcome === 'question'
            ? '❓ stopped to ask a question (see the inbox).'
            : run.outcome === 'reviewed'
              ? `🔎 posted a review (a comment, not an approval) on ${run.prUrl}; nothing was pushed.`
              : '✅ finished with no changes to commit.';
    const summary = s.summary ? `\n\n${inert(s.summary.slice(0, 2_000))}` : '';
    return `${head(run.runId)}: ${what}${summary}\n\n${testDeltaLine(s.tests)}\n${cost}`;
  }
  return `${head(run.runId)}: ❌ ${inert(failureInPlainWords(run))}\n\n${cost}`;
}

export interface CheckRunOutput {
  name: typeof CHECK_RUN_NAME;
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled' | 'timed_out';
  title: string;
  summary: string;
}

/** The check run on the pull request's head commit: the summary, the test delta and the cost. */
export function checkRunOf(s: EndedStatus): CheckRunOutput {
  const { run } = s;
  const failing = s.tests.head !== null && !s.tests.head.passed;
  const conclusion: CheckRunOutput['conclusion'] =
    run.status === 'SUCCEEDED'
      ? failing || s.tests.newlyFailing.length > 0
        ? 'neutral'
        : 'success'
      : run.status === 'CANCELLED'
        ? 'cancelled'
        : run.status === 'TIMED_OUT'
          ? 'timed_out'
          : 'failure';
  const title =
    run.status === 'SUCCEEDED'
      ? `${run.outcome === 'pr_updated' ? 'Pushed new commits' : run.outcome === 'no_changes' ? 'No changes' : run.outcome === 'reviewed' ? 'Reviewed' : 'Draft ready'}: ${s.tests.newlyFailing.length} newly failing, ${s.tests.newlyPassing.length} newly passing; ${usd(run.spentMicros)}`
      : `Run ${run.status.toLowerCase().replace('_', ' ')}; ${usd(run.spentMicros)}`;
  const body =
    run.status === 'SUCCEEDED' ? inert((s.summary ?? 'The agent gave no summary.').slice(0, 4_000)) : inert(failureInPlainWords(run));
  const summary = `${body}\n\n${testDeltaLine(s.tests)}\n\nCost ${usd(run.spentMicros)} of the ${usd(run.budgetMicros)} budget, ${s.turns} model turns. Run \`${run.runId}\`.`;
  return { name: CHECK_RUN_NAME, conclusion, title: title.slice(0, 200), summary };
}
