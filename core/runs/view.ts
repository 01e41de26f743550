import { microsToUsd } from '../pricing';
import type { RunRecord } from '../store/ports';
import { RunView } from './schemas';

/**
 * The API's view of a stored run: money from integer micro-USD to USD, ledger internals left out.
 * `queuePosition`, when given, is a fresher position than the stored one (computed at read time).
 */
export function toRunView(record: RunRecord, queuePosition?: number | null): RunView {
  return RunView.parse({
    runId: record.runId,
    repo: record.repo,
    status: record.status,
    outcome: record.outcome,
    source: record.source,
    kind: record.runKind ?? 'change',
    pr: record.pr ?? null,
    requester: record.requester,
    prompt: record.prompt,
    baseBranch: record.baseBranch,
    issue: record.issue,
    labels: record.labels,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    branch: record.branch,
    prUrl: record.prUrl,
    budgetUsd: microsToUsd(record.budgetMicros),
    costUsd: microsToUsd(record.spentMicros),
    maxMinutes: record.maxMinutes,
    tokens: record.tokens,
    queuePosition: queuePosition === undefined ? record.queuePosition : queuePosition,
    queueReason: record.status === 'QUEUED' ? (record.queueReason ?? null) : null,
    priority: record.priority ?? 'normal',
    cancelRequested: record.cancelRequested,
    error: record.error,
    thread: record.thread ?? null,
    pullRequest: record.pullRequest ?? null,
    // The resume key is internal (what makes a retried resume change nothing twice); the rest is for people.
    automaticResumes: record.automaticResumes
      ? {
          count: record.automaticResumes.count,
          capacityProvider: record.automaticResumes.capacityProvider,
          lastCause: record.automaticResumes.lastCause,
        }
      : null,
  });
}
