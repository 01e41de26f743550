import type { ConcurrencySlotsPort, RunRepository } from '../store/ports';
import { isTerminal } from './lifecycle';

export interface SlotReconcilerDeps {
  runs: RunRepository;
  slots: ConcurrencySlotsPort;
  /** The configured repositories: their semaphores are checked besides the global one. */
  repos: readonly string[];
}

/**
 * Frees slots whose holder can never release them: a run that is terminal (its Finalize released
 * before a stale admission took the slot again) or that does not exist. A holder whose run is still
 * active keeps its slot. Every release is conditional on the holder, so running this concurrently with
 * admissions and finalizers, or twice, changes nothing else. Returns the run ids it freed.
 */
export async function reconcileSlots(deps: SlotReconcilerDeps): Promise<{ released: string[] }> {
  const semaphores: (string | null)[] = [null, ...new Set(deps.repos)];
  const released = new Set<string>();
  const verdicts = new Map<string, boolean>(); // runId -> may keep its slot
  for (const repo of semaphores) {
    for (const runId of await deps.slots.semaphoreHolders(repo)) {
      let keeps = verdicts.get(runId);
      if (keeps === undefined) {
        const run = await deps.runs.get(runId);
        keeps = run !== undefined && !isTerminal(run.status);
        verdicts.set(runId, keeps);
        // A terminal run also frees its own repository's semaphore, even one no longer configured.
        if (run && !keeps) await deps.slots.release(run.runId, run.repo, run.requester);
      }
      if (keeps) continue;
      await deps.slots.releaseSemaphore(runId, repo);
      released.add(runId);
    }
  }
  return { released: [...released] };
}
