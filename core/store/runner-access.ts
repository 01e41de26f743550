import type { RunnerRunAccess, RunRepository } from './ports';

/** A runner's access to its run over a run repository (the broker's side, and in-process tests). */
export function runnerRunAccess(runs: RunRepository, now: () => Date = () => new Date()): RunnerRunAccess {
  return {
    get: (runId) => runs.get(runId),
    async start(runId) {
      // A run resumed after a pause keeps the start of its first task.
      const run = await runs.get(runId);
      return runs.transition(runId, 'RUNNING', { startedAt: run?.startedAt ?? now().toISOString() });
    },
    patch: (runId, patch) =>
      runs.patch(runId, {
        ...(patch.branch !== undefined ? { branch: patch.branch } : {}),
        ...(patch.prUrl !== undefined ? { prUrl: patch.prUrl } : {}),
      }),
  };
}
