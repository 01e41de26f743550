import { emitAll, type MetricsSink } from '../metrics/emf';
import { pullRequestClosedMetrics } from '../metrics/run-metrics';
import { RunId } from '../runs/schemas';
import { threadRuns } from '../runs/threads';
import { InboxItemNotOpenError } from '../errors';
import type { InboxStore } from '../store/inbox-store-port';
import { SYSTEM_RESOLVER } from '../inbox/inbox-item';
import type { RunRecord, RunRepository } from '../store/ports';
import type { ThreadStorePort } from '../store/thread-store-port';
import { threadKey, type WebhookTrigger } from './webhook-events';

export interface PullOutcomeDeps {
  runs: RunRepository;
  threads: ThreadStorePort;
  /** The `pr_ready` items of the pull request's runs are closed: it no longer waits for review. */
  inbox: Pick<InboxStore, 'listByRun' | 'resolve'>;
  metrics?: MetricsSink;
}

export type PullClosed = Extract<WebhookTrigger, { kind: 'pull_closed' }>;

export type PullOutcomeResult =
  | { action: 'ignored'; reason: string }
  | { action: 'recorded'; state: 'merged' | 'closed'; runIds: string[] };

/** The pull request number a run's `prUrl` points at (GitHub's and the local forge's `/pull/N`). */
export function pullNumberOf(prUrl: string | null): number | undefined {
  const m = prUrl ? /\/pull\/(\d+)$/.exec(prUrl) : null;
  return m ? Number(m[1]) : undefined;
}

/** The run id in a run branch's name (`nightshift/<runId>-<slug>`, runner/repo), if it is one. */
export function runIdOfBranch(ref: string): string | undefined {
  const m = /^nightshift\/([0-9A-HJKMNP-TV-Z]{26})(?:-|$)/.exec(ref);
  return m && RunId.safeParse(m[1]).success ? m[1] : undefined;
}

/**
 * The runs whose thread a closed pull request belongs to: the runs started from the pull request
 * itself (`/nightshift` iterations) and, when its head is a run branch, the run that opened it with
 * the runs of that run's thread (the issue run and its siblings). Only runs of this repository.
 */
export async function runsOfPull(
  deps: Pick<PullOutcomeDeps, 'runs' | 'threads'>,
  repo: string,
  pull: { number: number; headRef: string },
): Promise<RunRecord[]> {
  const found = new Map<string, RunRecord>();
  for (const run of await threadRuns(deps, threadKey(repo, pull.number))) found.set(run.runId, run);
  const opener = runIdOfBranch(pull.headRef);
  const run = opener ? await deps.runs.get(opener) : undefined;
  // The branch name alone proves nothing: the run must be of this repository and have this pull request.
  if (run && run.repo.toLowerCase() === repo.toLowerCase() && pullNumberOf(run.prUrl) === pull.number) {
    found.set(run.runId, run);
    if (run.thread) for (const sibling of await threadRuns(deps, run.thread)) found.set(sibling.runId, sibling);
  }
  return [...found.values()].filter((r) => r.repo.toLowerCase() === repo.toLowerCase());
}

/**
 * `pull_request.closed` (docs/github-app.md#outcomes-pull_requestclosed): on a Nightshift pull request (one a run opened or pushed
 * to), records merged or closed, and when, on every run of its thread, and emits the outcome metrics
 * (core/metrics/run-metrics.ts), and closes the open `pr_ready` items of those runs (resolved by
 * Nightshift, action `closed`, with how the pull request ended), which frees the requester's review
 * backlog (`concurrency.maxOpenPrsPerRequester`). Any other pull request is ignored and nothing is written.
 */
export async function recordPullOutcome(deps: PullOutcomeDeps, repo: string, pull: PullClosed): Promise<PullOutcomeResult> {
  const runs = await runsOfPull(deps, repo, pull);
  if (!runs.some((r) => pullNumberOf(r.prUrl) === pull.number))
    return { action: 'ignored', reason: `pull request #${pull.number} is not a Nightshift pull request` };
  const state = pull.merged ? 'merged' : 'closed';
  for (const run of runs)
    await deps.runs.patch(run.runId, { pullRequest: { number: pull.number, state, at: pull.at } }, { allowTerminal: true });
  for (const run of runs) await closePrReadyItems(deps, run.runId, state, pull.at);
  if (deps.metrics) {
    const threadSpentMicros = runs.reduce((sum, r) => sum + r.spentMicros, 0);
    emitAll(
      deps.metrics,
      pullRequestClosedMetrics({ repo, merged: pull.merged, openedAt: pull.openedAt, closedAt: pull.at, threadSpentMicros }),
    );
  }
  return { action: 'recorded', state, runIds: runs.map((r) => r.runId).sort() };
}

/** Closes the run's open `pr_ready` items; one resolved meanwhile (dismissed, or a redelivery) is left as it is. */
async function closePrReadyItems(deps: PullOutcomeDeps, runId: string, state: 'merged' | 'closed', at: string): Promise<void> {
  for (const item of await deps.inbox.listByRun(runId)) {
    if (item.type !== 'pr_ready' || item.state !== 'open') continue;
    try {
      await deps.inbox.resolve(item.itemId, { action: 'closed', answer: null, pullRequest: state }, SYSTEM_RESOLVER, at);
    } catch (err) {
      if (!(err instanceof InboxItemNotOpenError)) throw err;
    }
  }
}
