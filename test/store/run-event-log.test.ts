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

  it('reads a run timeline back in the order it was written, page by page', async () => {
    // Given a run with 25 events
    const { runId } = queuedRun();
    const written = [];
    for (let i = 0; i < 25; i += 1) written.push(await db.store.events.append(runId, i % 2 ? 'model_turn' : 'tool_call', `step ${i}`, { step: i }));
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

  it('keeps timelines of different runs apart', async () => {
    const a = queuedRun().runId;
    const b = queuedRun().runId;
    await db.store.events.append(a, 'status', 'QUEUED');
    await db.store.events.append(b, 'status', 'QUEUED');
    const page = await db.store.events.list(a, { limit: 10 });
    expect(page.events.map((event) => event.runId)).toEqual([a]);
    expect(page.nextCursor).toBeNull();
  });

  it("refuses a cursor from another run's timeline and garbage", async () => {
    const a = queuedRun().runId;
    const b = queuedRun().runId;
    for (let i = 0; i < 3; i += 1) await db.store.events.append(a, 'note', `n${i}`);
    const { nextCursor } = await db.store.events.list(a, { limit: 1 });
    expect(nextCursor).not.toBeNull();
    await expect(db.store.events.list(b, { limit: 1, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(db.store.events.list(a, { limit: 1, cursor: 'not a cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
