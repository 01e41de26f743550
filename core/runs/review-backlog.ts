import { outcomeItemId, outcomeItemType } from '../inbox/run-outcome-item';
import type { InboxStore } from '../store/inbox-store-port';
import type { RunRecord, RunRepository } from '../store/ports';
import type { ReviewPlacesPort } from '../store/review-places-port';
import { isTerminal } from './lifecycle';

/**
 * The review backlog (`concurrency.maxOpenPrsPerRequester`, docs/inbox.md#the-review-backlog), exact
 * under concurrent admissions: a requester has that many **review places**. A new run takes one when
 * it is admitted and holds it while it is active (it may open a pull request); when it ends with a
 * new pull request the place passes to its `pr_ready` item until that is merged, closed or dismissed;
 * any other ending frees it. Open `pr_ready` items of runs that took no place (admitted before a limit
 * was set) fill places too. Taking one is an optimistic-concurrency write on the requester's places
 * item (adapters/dynamodb/review-places.ts): two admissions that read the same places cannot both write, so
 * the second decides again on what the first wrote. Places are freed lazily, by the next admission of
 * the requester, from the runs' and items' own state (read consistently), so no ending path needs to
 * give one back.
 */
export interface ReviewBacklogDeps {
  maxOpenPrsPerRequester: number | undefined;
  runs: Pick<RunRepository, 'get'>;
  inbox: Pick<InboxStore, 'list' | 'get'>;
  places: ReviewPlacesPort;
}

/** How often a take is tried again after a competing write before the run waits for the next poll. */
const MAX_ATTEMPTS = 5;

export type ReviewPlaceDecision = { taken: true } | { taken: false; reason: string };

/** Who holds a place now: its run while active, then the run's open (or not yet created) `pr_ready` item; or nobody. */
async function holderOf(deps: ReviewBacklogDeps, runId: string): Promise<'run' | 'item' | undefined> {
  const run = await deps.runs.get(runId);
  if (!run) return undefined;
  if (!isTerminal(run.status)) return 'run';
  if (outcomeItemType(run) !== 'pr_ready' || run.finishedAt === null) return undefined;
  // Finalize creates the item after the terminal write: until it exists, the place is the item's.
  const item = await deps.inbox.get(outcomeItemId(run.runId, 'pr_ready', run.finishedAt));
  return item === undefined || item.state === 'open' ? 'item' : undefined;
}

/**
 * Takes a review place for the run, or says why it must wait. Idempotent: a run that holds one (a
 * retried or repeated admission) keeps it.
 */
export async function takeReviewPlace(
  deps: ReviewBacklogDeps,
  run: Pick<RunRecord, 'runId' | 'requester'>,
  max: number,
): Promise<ReviewPlaceDecision> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await deps.places.read(run.requester);
    if (current.places.includes(run.runId)) return { taken: true };
    const use = await placesInUse(deps, current.places, run.requester, max);
    if (use.held.length + use.others >= max)
      return { taken: false, reason: waitingReason(run.requester, use.held.length - use.active + use.others, use.active, max) };
    if (await deps.places.write(run.requester, [...use.held, run.runId], current.version)) return { taken: true };
  }
  return {
    taken: false,
    reason: `waiting for review: ${run.requester}'s review places are being taken by other runs right now (concurrency.maxOpenPrsPerRequester is ${max})`,
  };
}

/**
 * Whether the run would still have to wait for its requester's reviews, without taking a place (the
 * queue sweep's check, core/runs/queue-holds.ts): the same count as takeReviewPlace, read only.
 */
export async function reviewPlacesFull(
  deps: ReviewBacklogDeps,
  run: Pick<RunRecord, 'runId' | 'requester'>,
  max: number,
): Promise<boolean> {
  const current = await deps.places.read(run.requester);
  if (current.places.includes(run.runId)) return false;
  const use = await placesInUse(deps, current.places, run.requester, max);
  return use.held.length + use.others >= max;
}

/** The places still held (and how many by active runs), and the open pr_ready items of runs that hold none. */
async function placesInUse(
  deps: ReviewBacklogDeps,
  places: readonly string[],
  requester: string,
  max: number,
): Promise<{ held: string[]; active: number; others: number }> {
  const held: string[] = [];
  let active = 0;
  for (const runId of places) {
    const holder = await holderOf(deps, runId);
    if (holder) held.push(runId);
    if (holder === 'run') active++;
  }
  // Open pr_ready items whose runs hold no place here (the limit came after them).
  const { items } = await deps.inbox.list({ state: 'open', type: 'pr_ready', requester, limit: Math.min(100, max + places.length) });
  return { held, active, others: items.filter((i) => !places.includes(i.runId)).length };
}

/** Gives the run's place back: it took one, then could not start (a slot, its thread), and waits again. */
export async function releaseReviewPlace(
  deps: Pick<ReviewBacklogDeps, 'places'>,
  run: Pick<RunRecord, 'runId' | 'requester'>,
): Promise<void> {
  await deps.places.release(run.requester, run.runId);
}

function waitingReason(requester: string, open: number, active: number, max: number): string {
  const prs = `${open} pull request${open === 1 ? '' : 's'} awaiting review`;
  const runs = active > 0 ? ` and ${active} active run${active === 1 ? '' : 's'} that may open one` : '';
  return `waiting for review: ${requester} has ${prs}${runs} (concurrency.maxOpenPrsPerRequester is ${max}); merging, closing or dismissing one lets this run start`;
}
