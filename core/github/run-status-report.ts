import * as z from 'zod';
import { testDelta } from '../console/run-insights';
import { isTerminal } from '../runs/lifecycle';
import { RunId, type RunEvent } from '../runs/schemas';
import type { RunEventLog, RunRepository } from '../store/ports';
import type { GithubRepoPort } from './github-port';
import { pullNumberOf } from './pull-outcome';
import { isAutomaticPauseReason } from '../inbox/pause-report';
import type { RunRecord } from '../store/ports';
import { checkRunOf, endedComment, resumedComment, waitingComment, type EndedStatus } from './run-status';

/**
 * The one path that writes a GitHub run's status comment from the webhook function (the runner writes
 * the running stage itself, runner/session/status-progress.ts):
 * - `reportRunEnded`: the end of a run. When a run's execution ends (an EventBridge rule on the state machine's
 * execution status changes invokes the webhook function; local mode delivers the same events), the
 * run's status comment is edited to the result, and a check run named Nightshift is written on its
 * pull request's head commit. Everything shown comes from the run record and its timeline (the turns,
 * the tests at base and head, the summary in the final status event), so every way a run ends (the
 * runner's report, a timeout, a cancel while queued, a lost task) reads the same.
 * - `reportRunProgress`: a run between its start and its end, as it is now: waiting for a human (the
 *   inbox topic's delivery of its new item), or queued again once that was resolved on GitHub.
 */

/** The part of "Step Functions Execution Status Change" read here; the execution name is the run id. */
export const ExecutionEnded = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({ name: RunId, status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']) }),
});

export function isExecutionStatusChange(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as Record<string, unknown>).source === 'aws.states';
}

/** The run is not terminal yet (an aborted execution whose backstop has not finalized it): retry later. */
export class RunNotEndedError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} has not reached a terminal status yet`);
    this.name = 'RunNotEndedError';
  }
}

export interface StatusCommentDeps {
  runs: RunRepository;
  github(repo: string): Promise<GithubRepoPort>;
}

export interface RunStatusReportDeps extends StatusCommentDeps {
  events: Pick<RunEventLog, 'list'>;
  /** A client for the run's repository that may also write check runs where the token allows it. */
  github(repo: string): Promise<GithubRepoPort>;
}

export type RunStatusReport =
  | { action: 'ignored'; reason: string }
  | {
      action: 'reported';
      runId: string;
      comment: 'edited' | 'created';
      checkRun: 'written' | 'no_pull_request' | 'no_checks_permission' | 'no_head_commit';
    };

/** Most timelines are a few hundred entries; the report reads at most this many. */
const MAX_EVENTS = 5_000;

export async function timeline(events: Pick<RunEventLog, 'list'>, runId: string): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await events.list(runId, { limit: 1_000, ...(cursor ? { cursor } : {}) });
    all.push(...page.events);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && all.length < MAX_EVENTS);
  return all;
}

/** The thread's issue or pull request number (`owner/name#N`). */
export function threadNumber(thread: string): number {
  const n = Number(thread.slice(thread.lastIndexOf('#') + 1));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a thread: ${thread}`);
  return n;
}

/** What the ended run's comment and check run say, from its record and timeline. Pure. */
export function endedStatusOf(run: EndedStatus['run'], events: readonly RunEvent[]): EndedStatus {
  const last = events.filter((e) => e.type === 'status').at(-1);
  const reason = z.object({ reason: z.object({ message: z.string() }) }).safeParse(last?.detail);
  return {
    run,
    turns: events.filter((e) => e.type === 'model_turn').length,
    summary: run.status === 'SUCCEEDED' && reason.success ? reason.data.reason.message : null,
    tests: testDelta(events),
  };
}

export async function reportRunEnded(deps: RunStatusReportDeps, event: unknown): Promise<RunStatusReport> {
  const { detail } = ExecutionEnded.parse(event);
  const run = await deps.runs.get(detail.name);
  if (!run) return { action: 'ignored', reason: `run ${detail.name} is unknown` };
  if (!run.thread) return { action: 'ignored', reason: 'the run was not started from GitHub' };
  if (!isTerminal(run.status)) throw new RunNotEndedError(run.runId);

  const status = endedStatusOf(run, await timeline(deps.events, run.runId));
  const github = await deps.github(run.repo);
  const comment = await writeStatusComment(deps, github, run, run.thread, endedComment(status));
  const pr = pullNumberOf(run.prUrl);
  if (pr === undefined) return { action: 'reported', runId: run.runId, comment, checkRun: 'no_pull_request' };
  if (!github.canWriteChecks) return { action: 'reported', runId: run.runId, comment, checkRun: 'no_checks_permission' };
  const { headSha } = await github.pull(pr);
  if (!headSha) return { action: 'reported', runId: run.runId, comment, checkRun: 'no_head_commit' };
  await github.upsertCheckRun({ headSha, externalId: run.runId, output: checkRunOf(status) });
  return { action: 'reported', runId: run.runId, comment, checkRun: 'written' };
}

/** The run's one status comment: edited in place, or posted (and its id stored) when the queued one never was. */
async function writeStatusComment(
  deps: Pick<StatusCommentDeps, 'runs'>,
  github: GithubRepoPort,
  run: RunRecord,
  thread: string,
  body: string,
): Promise<'edited' | 'created'> {
  if (run.statusCommentId) {
    await github.editComment(run.statusCommentId, body);
    return 'edited';
  }
  // The queued comment could not be posted (or the run got here before its id was stored): one now.
  const { id } = await github.comment(threadNumber(thread), body);
  await deps.runs.patch(run.runId, { statusCommentId: id }, { allowTerminal: true });
  return 'created';
}

export type RunProgressReport =
  | { action: 'ignored'; reason: string }
  | { action: 'reported'; runId: string; stage: 'waiting' | 'resumed'; comment: 'edited' | 'created' };

/**
 * The status comment of a run that is neither running nor ended, from its record as it is now:
 * WAITING_FOR_HUMAN says what it waits for and points to the question below it; QUEUED (or STARTING)
 * after a person resolved that says it goes on. Anything else is someone else's to write (the runner
 * writes running, `reportRunEnded` the end, the webhook's submit queued), so a late delivery never
 * writes over a newer stage: what is written is always the run's current status.
 */
export async function reportRunProgress(deps: StatusCommentDeps, runId: string): Promise<RunProgressReport> {
  const run = await deps.runs.get(runId);
  if (!run) return { action: 'ignored', reason: `run ${runId} is unknown` };
  const { thread, resume } = run;
  if (!thread) return { action: 'ignored', reason: 'the run was not started from GitHub' };
  const human = resume && !isAutomaticPauseReason(resume.reason) ? resume : undefined;
  let stage: 'waiting' | 'resumed';
  let body: string;
  if (run.status === 'WAITING_FOR_HUMAN' && human) {
    stage = 'waiting';
    body = waitingComment({
      runId,
      reason: human.reason,
      itemId: human.itemId,
      spentMicros: run.spentMicros,
      budgetMicros: run.budgetMicros,
    });
  } else if ((run.status === 'QUEUED' || run.status === 'STARTING') && human?.answeredAt) {
    stage = 'resumed';
    body = resumedComment({ runId, action: human.action, spentMicros: run.spentMicros, budgetMicros: run.budgetMicros });
  } else return { action: 'ignored', reason: `the run is ${run.status}: not a stage this report writes` };
  const comment = await writeStatusComment(deps, await deps.github(run.repo), run, thread, body);
  // The comment shows no queue place any more: the queue's moves leave it alone (core/github/queue-comments.ts).
  if (run.statusCommentPosition != null) await deps.runs.patch(runId, { statusCommentPosition: null }, { allowTerminal: true });
  return { action: 'reported', runId, stage, comment };
}
