import type { ConcurrencySlotsPort, SlotCaps, SlotOccupancy } from '../store/ports';
import type { QueueEntry, RunQueuePort } from '../store/run-queue-port';

/**
 * Waking queued runs (docs/architecture.md#admission-and-the-queue). A QUEUED run's Admit state waits
 * on a task token stored with its queue entry. Whatever frees a slot (Finalize, a pause, an automatic
 * resume, the backstop, the slot reconciler) wakes the runs the freed capacity can admit: the
 * selection below picks them from the head of the queue, a conditional write takes each one's token,
 * and SendTaskSuccess completes its Admit state, which re-runs admission under the caps. The
 * semaphores' conditional writes stay the only source of truth: a woken run that finds no slot after
 * all goes back to waiting in the same place.
 */

/** A woken entry counts against the caps for this long, so two wakers do not wake two runs for one slot. */
export const WAKE_CLAIM_MS = 60_000;
/** How far into the queue one wake-up looks: entries blocked by their repository or requester cap are skipped, up to this many. */
export const WAKE_SCAN_LIMIT = 200;

export interface WakeSelectionOptions {
  now: Date;
  /** Consider held entries too (a run of a thread ended): each one's Admit checks its hold again. */
  includeHeld?: boolean;
  /** Held entries whose hold the queue sweep found lifted (core/runs/queue-holds.ts): considered like waiting ones. */
  lifted?: ReadonlySet<string>;
  /** An entry never to wake (a run that was just woken and found no slot: it must not wake itself again). */
  exclude?: string;
}

/**
 * Which queued runs the free capacity can admit, in queue order (pure). FIFO per cap within a
 * priority: an entry whose repository or requester is at its cap is skipped, so it does not hold back
 * runs of other repositories or people; it keeps its place for the next release. Entries woken in the
 * last WAKE_CLAIM_MS are already re-checking and count as holders.
 */
export function selectRunsToWake(
  entries: readonly QueueEntry[],
  occupancy: SlotOccupancy,
  caps: SlotCaps,
  options: WakeSelectionOptions,
): QueueEntry[] {
  const now = options.now.getTime();
  const repoOf = (e: QueueEntry) => e.repo.toLowerCase();
  const global = { used: occupancy.global };
  const repos = new Map(Object.entries(occupancy.repos));
  const requesters = new Map(Object.entries(occupancy.requesters));
  const take = (e: QueueEntry) => {
    global.used += 1;
    repos.set(repoOf(e), (repos.get(repoOf(e)) ?? 0) + 1);
    requesters.set(e.requester, (requesters.get(e.requester) ?? 0) + 1);
  };
  const claimed = (e: QueueEntry) => e.wokenAt !== null && now - Date.parse(e.wokenAt) < WAKE_CLAIM_MS;
  for (const entry of entries) if (claimed(entry)) take(entry);

  const selected: QueueEntry[] = [];
  for (const entry of entries) {
    if (global.used >= caps.global) break;
    // A taken token: re-checking (counted above), or a wake-up that never came back (its next Admit stores a new token).
    if (entry.wokenAt !== null || entry.runId === options.exclude) continue;
    // A held entry waits for its thread or its reviews, not for a slot: only an event (includeHeld) or the sweep's check of its hold (lifted) considers it.
    if (entry.held && !options.includeHeld && !options.lifted?.has(entry.runId)) continue;
    if ((repos.get(repoOf(entry)) ?? 0) >= caps.perRepo) continue;
    if (caps.perRequester !== undefined && (requesters.get(entry.requester) ?? 0) >= caps.perRequester) continue;
    take(entry);
    selected.push(entry);
  }
  return selected;
}

/** What SendTaskSuccess on a woken run's token answered: delivered, or the wait had already ended (timed out, stopped). */
export type WakeDelivery = 'delivered' | 'gone';

export interface QueueWakeDeps {
  queue: RunQueuePort;
  slots: Pick<ConcurrencySlotsPort, 'occupancy'>;
  caps: SlotCaps;
  /** SendTaskSuccess(token, WOKEN_OUTPUT); `gone` for TaskTimedOut / InvalidToken, other errors thrown. */
  wakeRun(token: string): Promise<WakeDelivery>;
  /**
   * The queue sweep's check of held entries (core/runs/queue-holds.ts): which of them are held no
   * longer. Reads only, so a held run costs no state transition until its hold lifts; without it, held
   * entries wait for an event that includes them (a thread's run ended).
   */
  liftedHolds?: (held: readonly QueueEntry[]) => Promise<ReadonlySet<string>>;
  now?: () => Date;
}

/** The Admit state's output for a woken run: its `Admitted?` choice sends it back through Admit. */
export const WOKEN_OUTPUT = JSON.stringify({ decision: 'woken', queuePosition: null });

/** Wakes the queued runs the free capacity can admit; returns the run ids woken. */
export async function wakeQueuedRuns(deps: QueueWakeDeps, options: Omit<WakeSelectionOptions, 'now'> = {}): Promise<{ woken: string[] }> {
  const now = deps.now?.() ?? new Date();
  const entries = await deps.queue.head(WAKE_SCAN_LIMIT);
  if (entries.length === 0) return { woken: [] };
  const occupancy = await deps.slots.occupancy(
    entries.map((e) => e.repo),
    deps.caps.perRequester === undefined ? [] : entries.map((e) => e.requester),
  );
  const held = entries.filter((e) => e.held && e.wokenAt === null);
  const lifted = deps.liftedHolds && !options.includeHeld && held.length > 0 ? await deps.liftedHolds(held) : undefined;
  const woken: string[] = [];
  for (const entry of selectRunsToWake(entries, occupancy, deps.caps, { ...options, now, ...(lifted ? { lifted } : {}) })) {
    const token = await deps.queue.claim(entry.runId, now.toISOString());
    // Another waker took it first, or it is re-checking already: it is awake either way.
    if (token === undefined) continue;
    let delivery: WakeDelivery;
    try {
      delivery = await deps.wakeRun(token);
    } catch (err) {
      await deps.queue.restore(entry.runId, token);
      throw err;
    }
    // `gone`: its Admit state ended otherwise (the re-check timer, a stop); the next Admit stores a new token.
    if (delivery === 'delivered') woken.push(entry.runId);
  }
  return { woken };
}

/** What frees capacity calls after it released a run's slots; never throws (the sweep is the backstop). */
export type QueueWaker = (options?: Omit<WakeSelectionOptions, 'now'>) => Promise<void>;
