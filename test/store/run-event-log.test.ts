import { InvalidCursorError } from '../../core/errors';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { queuedRun } from './run-fixtures';

describe('run event log', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });

  it('Given a run with 25 events, When its timeline is read 10 at a time, Then every event comes back once, oldest first, in 3 pages', async () => {
    // Given a run with 25 events
    const { runId } = queuedRun();
    const written = [];
    for (let i = 0; i < 25; i += 1)
      written.push(await db.store.events.append(runId, i % 2 ? 'model_turn' : 'tool_call', `step ${i}`, { step: i }));
    // When it is read 10 at a time
    const seen = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await db.store.events.list(runId, { limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events);
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    // Then every event comes back once, oldest first
    expect(seen).toEqual(written);
    expect(pages).toBe(3);
  });

  it("Given events of two runs, When one run's timeline is read, Then it holds only that run's events", async () => {
    const a = queuedRun().runId;
    const b = queuedRun().runId;
    await db.store.events.append(a, 'status', 'QUEUED');
    await db.store.events.append(b, 'status', 'QUEUED');
    const page = await db.store.events.list(a, { limit: 10 });
    expect(page.events.map((event) => event.runId)).toEqual([a]);
    expect(page.nextCursor).toBeNull();
  });

  it("Given a cursor from another run's timeline or garbage, When a timeline is read with it, Then it is refused as an invalid cursor", async () => {
    const a = queuedRun().runId;
    const b = queuedRun().runId;
    for (let i = 0; i < 3; i += 1) await db.store.events.append(a, 'note', `n${i}`);
    const { nextCursor } = await db.store.events.list(a, { limit: 1 });
    expect(nextCursor).not.toBeNull();
    await expect(db.store.events.list(b, { limit: 1, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(db.store.events.list(a, { limit: 1, cursor: 'not a cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
