/**
 * The state machine's side of a runner's pause over a store, with the real core functions: Pause, the
 * inbox's resolution and Admit again, as tests of the runner drive them between two of its tasks.
 */
import type { Store } from '../../adapters/dynamodb';
import type { PauseTaskInput } from '../../core/inbox/pause-report';
import { admitRun } from '../../core/runs/admission';
import { resolveInboxItem, type AnswerDeps, type ResolveInput } from '../../core/runs/answer';
import { pauseRun, type PauseDeps } from '../../core/runs/pause';
import type { RunRecord } from '../../core/store/ports';
import { admissionDepsOf } from './admission-deps';

/** Pause over a store (its runs, events, slots and inbox); the paused task stops by itself unless `overrides` say otherwise. */
export function pauseDepsOf(store: Store, overrides: Partial<PauseDeps> = {}): PauseDeps {
  return { ...store, stopRunTasks: async () => undefined, ...overrides };
}

/**
 * The inbox's resolution over a store (its inbox, runs, events and ledger) with `config`'s budgets;
 * no execution waits on the task token unless `overrides` say so.
 */
export function answerDepsOf(store: Store, config: AnswerDeps['config'], overrides: Partial<AnswerDeps> = {}): AnswerDeps {
  return { ...store, sendTaskSuccess: async () => undefined, sendTaskFailure: async () => undefined, config, ...overrides };
}

/** The run's own requester, not an admin: who resolves its inbox items here. */
export function requesterOf(run: Pick<RunRecord, 'requester'>): ResolveInput['access'] {
  return { caller: { requester: run.requester, groups: [] }, admin: false };
}

/**
 * A paused task's run taken from its report to its next admission: the run holds the slot its task
 * ran in, Pause turns the report into an inbox item (task token `token-1`), the run's requester
 * resolves that item with `request`, and Admit takes the run again. Answers the item Pause made and
 * the admission (whose run key the next task uses).
 */
export async function pauseResolveAndReadmit(
  store: Store,
  input: {
    run: Pick<RunRecord, 'runId' | 'repo' | 'requester'>;
    report: PauseTaskInput['report'];
    request: ResolveInput['request'];
    config: AnswerDeps['config'];
  },
) {
  const { run, report, request, config } = input;
  await store.slots.acquire(run.runId, run.repo, { global: 1, perRepo: 1 });
  const item = await pauseRun(pauseDepsOf(store), { runId: run.runId, token: 'token-1', report });
  await resolveInboxItem(answerDepsOf(store, config), { itemId: item.itemId, access: requesterOf(run), request });
  const admitted = await admitRun(admissionDepsOf(store), run.runId);
  return { item, admitted };
}
