import { RunView } from '../../core/runs/schemas';

/**
 * A run as `GET /v1/runs/{runId}` answers it, for tests that stand in for the API: a finished run with
 * its PR, checked against the API's own schema, so a field the view gains is added here once.
 */
export function runViewFixture(overrides: Partial<RunView> = {}): RunView {
  return RunView.parse({
    runId: '01J00000000000000000000000',
    repo: 'acme/web',
    status: 'SUCCEEDED',
    outcome: 'pr_opened',
    source: 'api',
    requester: 'arn:aws:iam::123456789012:user/alice',
    prompt: 'Fix it',
    baseBranch: null,
    issue: null,
    labels: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    branch: 'nightshift/x',
    prUrl: 'https://github.com/acme/web/pull/1',
    budgetUsd: 2,
    costUsd: 0.1,
    maxMinutes: 60,
    tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
    queuePosition: null,
    queueReason: null,
    priority: 'normal',
    cancelRequested: false,
    error: null,
    thread: null,
    pullRequest: null,
    automaticResumes: null,
    kind: 'change',
    pr: null,
    ...overrides,
  });
}
