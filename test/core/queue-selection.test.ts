import { selectRunsToWake, WAKE_CLAIM_MS } from '../../core/runs/queue-wake';
import { queueOrderOf, type QueueEntry } from '../../adapters/dynamodb/run-queue';

const now = new Date('2026-12-03T06:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
let seq = 0;
/** A queue entry; run ids sort in submission order like ULIDs. */
function entry(repo: string, requester: string, over: Partial<QueueEntry> = {}): QueueEntry {
  const runId = `01J0000000000000000000${String(seq++).padStart(4, '0')}`;
  return { runId, repo, requester, queueOrder: queueOrderOf(runId, 'normal'), held: false, wokenAt: null, since: ago(1_000), ...over };
}
const none = { global: 0, repos: {}, requesters: {} };

describe('which queued runs a freed slot wakes', () => {
  it('Given one free slot, When two runs wait, Then only the first in queue order is woken', () => {
    const [a, b] = [entry('acme/web', 'alice'), entry('acme/web', 'bob')];
    expect(selectRunsToWake([a!, b!], { ...none, global: 1 }, { global: 2, perRepo: 2 }, { now })).toEqual([a]);
  });

  it("Given the first run's repository at its cap, When a slot frees, Then the next run of another repository is woken instead (FIFO per cap)", () => {
    const [web, api] = [entry('acme/web', 'alice'), entry('acme/api', 'alice')];
    expect(
      selectRunsToWake([web!, api!], { global: 1, repos: { 'acme/web': 1 }, requesters: {} }, { global: 3, perRepo: 1 }, { now }),
    ).toEqual([api]);
  });

  it("Given a per-requester cap, When a slot frees, Then a person at their cap is skipped and another person's run is woken", () => {
    const [alice, bob] = [entry('acme/web', 'alice'), entry('acme/web', 'bob')];
    expect(
      selectRunsToWake(
        [alice!, bob!],
        { global: 1, repos: {}, requesters: { alice: 1 } },
        { global: 5, perRepo: 5, perRequester: 1 },
        { now },
      ),
    ).toEqual([bob]);
    // Without the cap, alice's run is first.
    expect(
      selectRunsToWake([alice!, bob!], { global: 4, repos: {}, requesters: { alice: 1 } }, { global: 5, perRepo: 5 }, { now }),
    ).toEqual([alice]);
  });

  it('Given a run woken moments ago that is re-checking, When another waker looks, Then it counts as holding a slot: no other run is woken for that slot', () => {
    const [woken, next] = [entry('acme/web', 'alice', { wokenAt: ago(2_000) }), entry('acme/web', 'bob')];
    expect(selectRunsToWake([woken!, next!], { ...none, global: 1 }, { global: 2, perRepo: 5 }, { now })).toEqual([]);
    // A wake-up that never led anywhere stops counting after WAKE_CLAIM_MS.
    const stale = { ...woken!, wokenAt: ago(WAKE_CLAIM_MS + 1) };
    expect(selectRunsToWake([stale, next!], { ...none, global: 1 }, { global: 2, perRepo: 5 }, { now })).toEqual([next]);
  });

  it('Given a held run (waiting for its thread), When a slot frees, Then it is skipped however long it waited, until a thread run ended or the sweep found its hold lifted', () => {
    const [held, next] = [entry('acme/web', 'alice', { held: true, since: ago(3_600_000) }), entry('acme/web', 'bob')];
    expect(selectRunsToWake([held!, next!], none, { global: 1, perRepo: 1 }, { now })).toEqual([next]);
    expect(selectRunsToWake([held!, next!], none, { global: 1, perRepo: 1 }, { now, includeHeld: true })).toEqual([held]);
    expect(selectRunsToWake([held!, next!], none, { global: 1, perRepo: 1 }, { now, lifted: new Set([held!.runId]) })).toEqual([held]);
    expect(selectRunsToWake([held!, next!], none, { global: 1, perRepo: 1 }, { now, lifted: new Set([next!.runId]) })).toEqual([next]);
  });

  it('Given an excluded run (just woken and found no slot) or every slot taken, When a slot is looked for, Then the excluded run is never woken, and nothing when no slot is free', () => {
    const [a, b] = [entry('acme/web', 'alice'), entry('acme/api', 'bob')];
    expect(selectRunsToWake([a!, b!], none, { global: 1, perRepo: 1 }, { now, exclude: a!.runId })).toEqual([b]);
    expect(selectRunsToWake([a!, b!], { ...none, global: 1 }, { global: 1, perRepo: 1 }, { now })).toEqual([]);
  });

  it('Given queue entries of each priority, When they are ordered, Then high comes before normal before low, then by submission', () => {
    const id = (n: number) => `01J0000000000000000000${String(9000 + n)}`;
    const keys = [queueOrderOf(id(1), 'low'), queueOrderOf(id(2), 'normal'), queueOrderOf(id(3), 'high'), queueOrderOf(id(4), 'normal')];
    expect([...keys].sort()).toEqual([
      queueOrderOf(id(3), 'high'),
      queueOrderOf(id(2), 'normal'),
      queueOrderOf(id(4), 'normal'),
      queueOrderOf(id(1), 'low'),
    ]);
  });
});
