import { runIdGenerator } from '../../core/runs/run-id';
import type { RunRecord } from '../../core/store/ports';

const nextId = runIdGenerator();

/** A freshly submitted run as submit would store it; override what a test cares about. */
export function queuedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: nextId(),
    kind: 'run',
    repo: 'acme/widgets',
    status: 'QUEUED',
    outcome: null,
    source: 'api',
    requester: 'arn:aws:iam::123456789012:user/alice',
    prompt: 'bump lodash and fix what breaks',
    baseBranch: null,
    branch: null,
    issue: null,
    labels: [],
    createdAt: '2030-01-02T03:04:05.000Z',
    startedAt: null,
    finishedAt: null,
    prUrl: null,
    maxMinutes: 60,
    queuePosition: 0,
    cancelRequested: false,
    error: null,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    budgetMicros: 5_000_000,
    spentMicros: 0,
    ledgerDay: '2030-01-02',
    settled: false,
    requestHash: null,
    ...overrides,
  };
}
