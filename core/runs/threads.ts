import type { RunRecord, RunRepository } from '../store/ports';
import type { ThreadStorePort } from '../store/thread-store-port';
import { isTerminal } from './lifecycle';

/**
 * What a thread's runs have committed against `budgets.perThreadUsd`: a settled run its real spend
 * (late costs included), any other run its whole budget (what it may still spend). A run id with no
 * record yet is a submission in progress: its reservation counts.
 */
export async function threadCommittedMicros(runs: RunRepository, reserved: Record<string, number>): Promise<number> {
  let total = 0;
  for (const [runId, budgetMicros] of Object.entries(reserved)) {
    const run = await runs.get(runId);
    total += run === undefined ? budgetMicros : run.settled ? run.spentMicros : Math.max(run.budgetMicros, run.spentMicros);
  }
  return total;
}

/**
 * The thread run this one must wait behind, if any: at most one run of a thread is admitted at a time
 * (docs/github-app.md, Threads), and they go in submission order. A run waits while an older run of its thread has not
 * ended, or while any other run of it holds compute or waits for a human.
 */
export async function threadBlocker(deps: { runs: RunRepository; threads: ThreadStorePort }, run: RunRecord): Promise<string | undefined> {
  if (!run.thread) return undefined;
  const state = await deps.threads.get(run.thread);
  for (const runId of Object.keys(state?.runs ?? {}).sort()) {
    if (runId === run.runId) continue;
    const other = await deps.runs.get(runId);
    if (other === undefined) {
      // Reserved but not stored yet: an older one is ahead of us; a younger one is not.
      if (runId < run.runId) return runId;
      continue;
    }
    if (isTerminal(other.status)) continue;
    if (runId < run.runId && !other.cancelRequested) return runId;
    if (other.status !== 'QUEUED') return runId;
  }
  return undefined;
}

/** The runs of a thread that have not ended, oldest first. */
export async function activeThreadRuns(deps: { runs: RunRepository; threads: ThreadStorePort }, thread: string): Promise<RunRecord[]> {
  const state = await deps.threads.get(thread);
  const active: RunRecord[] = [];
  for (const runId of Object.keys(state?.runs ?? {}).sort()) {
    const run = await deps.runs.get(runId);
    if (run && !isTerminal(run.status)) active.push(run);
  }
  return active;
}

/** The thread's runs, newest first (to find its pull request). */
export async function threadRuns(deps: { runs: RunRepository; threads: ThreadStorePort }, thread: string): Promise<RunRecord[]> {
  const state = await deps.threads.get(thread);
  const runs: RunRecord[] = [];
  for (const runId of Object.keys(state?.runs ?? {})
    .sort()
    .reverse()) {
    const run = await deps.runs.get(runId);
    if (run) runs.push(run);
  }
  return runs;
}
