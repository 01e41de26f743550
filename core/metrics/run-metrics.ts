import { ZodError } from 'zod';
import { BranchNotAllowedError, BudgetRefusedError, IntakePausedError, RepoNotAllowedError, RequestLimitError } from '../errors';
import type { RunSource } from '../runs/lifecycle';
import { RequesterNotAllowedError } from '../runs/access';
import type { RunRecord } from '../store/ports';
import { terminalStatusMetric, type MetricRecord, type RefusalReason } from './catalog';

/**
 * The metric records of the run's life, built from domain values. Pure: the caller hands them to a
 * sink (core/metrics/lambda-sink.ts in a Lambda, EMF lines in the runner), so every emitter writes the same
 * names and dimensions.
 */

/** A run was accepted (QUEUED). */
export function runSubmittedMetrics(run: Pick<RunRecord, 'repo' | 'source'>): MetricRecord[] {
  return [{ name: 'RunsSubmitted', value: 1, dimensions: { repo: run.repo, source: run.source } }];
}

/**
 * The refusal reason of a submit error, or undefined for an error that is not a policy refusal
 * (a fault of ours, which is not counted as a refusal).
 */
export function refusalReasonOf(err: unknown): RefusalReason | undefined {
  if (err instanceof IntakePausedError) return 'intake_paused';
  if (err instanceof BudgetRefusedError) return err.scope === 'org' ? 'org_budget' : 'requester_budget';
  if (err instanceof RepoNotAllowedError) return 'repo_not_allowed';
  if (err instanceof RequesterNotAllowedError) return 'requester_not_allowed';
  if (err instanceof RequestLimitError || err instanceof ZodError) return 'invalid_request';
  if (err instanceof BranchNotAllowedError) return 'branch_not_allowed';
  return undefined;
}

export function submissionRefusedMetrics(reason: RefusalReason, source: RunSource): MetricRecord[] {
  return [{ name: 'SubmissionsRefused', value: 1, dimensions: { reason, source } }];
}

function seconds(fromIso: string, toIso: string): number {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms)) throw new RangeError(`bad timestamps ${fromIso} .. ${toIso}`);
  // Clocks of different hosts can disagree by a little; a negative wait is reported as none.
  return Math.max(0, ms / 1000);
}

/** The runner took the run over (STARTING -> RUNNING at `startedAt`). */
export function runStartedMetrics(run: Pick<RunRecord, 'repo' | 'source' | 'createdAt'>, startedAt: string): MetricRecord[] {
  return [
    { name: 'RunsStarted', value: 1, dimensions: { repo: run.repo, source: run.source } },
    { name: 'QueueWaitSeconds', value: seconds(run.createdAt, startedAt), dimensions: { repo: run.repo } },
  ];
}

/**
 * A run reached its terminal status: the status counter, its cost, its duration (when it started)
 * and the pull request it produced. Emitted once, by the finalizer that made the transition.
 */
export function runEndedMetrics(
  run: Pick<RunRecord, 'repo' | 'source' | 'status' | 'outcome' | 'startedAt' | 'finishedAt' | 'spentMicros'>,
): MetricRecord[] {
  if (!(run.status in terminalStatusMetric)) throw new Error(`run is not terminal: ${run.status}`);
  const counter = terminalStatusMetric[run.status as keyof typeof terminalStatusMetric];
  const repoAndSource = { repo: run.repo, source: run.source };
  const records: MetricRecord[] = [
    { name: counter, value: 1, dimensions: repoAndSource },
    { name: 'RunCostMicroUsd', value: run.spentMicros, dimensions: repoAndSource },
  ];
  if (run.startedAt && run.finishedAt)
    records.push({ name: 'RunDurationSeconds', value: seconds(run.startedAt, run.finishedAt), dimensions: { repo: run.repo } });
  if (run.status === 'SUCCEEDED' && run.outcome === 'pr_opened')
    records.push({ name: 'PullRequestsOpened', value: 1, dimensions: { repo: run.repo } });
  if (run.status === 'SUCCEEDED' && run.outcome === 'pr_updated')
    records.push({ name: 'PullRequestsUpdated', value: 1, dimensions: { repo: run.repo } });
  return records;
}

/**
 * A Nightshift pull request was closed: merged (with the time from opening to merge and what its
 * thread's runs cost together) or closed without a merge. Emitted once per delivery, by the webhook.
 */
export function pullRequestClosedMetrics(input: {
  repo: string;
  merged: boolean;
  openedAt: string;
  closedAt: string;
  threadSpentMicros: number;
}): MetricRecord[] {
  const dimensions = { repo: input.repo };
  if (!input.merged) return [{ name: 'PullRequestsClosedUnmerged', value: 1, dimensions }];
  return [
    { name: 'PullRequestsMerged', value: 1, dimensions },
    { name: 'PullRequestTimeToMergeSeconds', value: seconds(input.openedAt, input.closedAt), dimensions },
    { name: 'MergedPullRequestCostMicroUsd', value: input.threadSpentMicros, dimensions },
  ];
}
