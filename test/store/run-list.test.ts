import { InvalidCursorError } from '../../core/errors';
import type { RunStatus } from '../../core/runs/lifecycle';
import type { RunListQuery, RunRecord } from '../../core/store/ports';
import { createListingRunRepository } from '../../adapters/dynamodb/run-list';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { queuedRun } from './run-fixtures';

describe.each(['keys', 'legacy'] as const)('run list (%s indexes)', (mode) => {
  let db: DynaliteHarness;
  const stored: RunRecord[] = [];
  const requesters = ['alice', 'bob', 'carol'];
  const repos = ['acme/widgets', 'acme/gadgets'];

  beforeAll(async () => {
    db = await startDynalite();
    // Given 36 runs, created in order, over 3 requesters, 2 repos, and statuses QUEUED / RUNNING / SUCCEEDED
    for (let i = 0; i < 36; i += 1) {
      const run = queuedRun({ requester: requesters[i % 3], repo: repos[i % 2] });
      await db.store.runs.create(run);
      let status: RunStatus = 'QUEUED';
      if (i % 4 !== 0) {
        await db.store.runs.transition(run.runId, 'STARTING');
        await db.store.runs.transition(run.runId, 'RUNNING');
        status = 'RUNNING';
      }
      if (i % 4 === 1) {
        await db.store.runs.transition(run.runId, 'SUCCEEDED');
        status = 'SUCCEEDED';
      }
      stored.push({ ...run, status });
    }
  });
  afterAll(async () => {
    await db.stop();
  });
  const list = (query: RunListQuery) => createListingRunRepository(db.doc, db.names.runs, { listIndexes: mode }).list(query);

  const newestFirst = (runs: RunRecord[]) => [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1)).map((run) => run.runId);

  async function allPages(query: Omit<RunListQuery, 'cursor'>): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list({ ...query, ...(cursor ? { cursor } : {}) });
      expect(page.runs.length).toBeLessThanOrEqual(query.limit);
      ids.push(...page.runs.map((run) => run.runId));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
      if (pages > 100) throw new Error('paging did not end');
    } while (cursor);
    return { ids, pages };
  }

  it('Given stored runs, When all are listed in one page, Then every run comes back newest first with no next cursor', async () => {
    const page = await list({ limit: 100 });
    expect(page.runs.map((run) => run.runId)).toEqual(newestFirst(stored));
    expect(page.nextCursor).toBeNull();
  });

  it('Given stored runs, When they are listed 10 at a time with the cursor, Then every run comes back once, newest first, in 4 pages', async () => {
    const { ids, pages } = await allPages({ limit: 10 });
    expect(ids).toEqual(newestFirst(stored));
    expect(pages).toBe(4);
  });

  it.each([
    ['requester', { requester: 'bob' }, (run: RunRecord) => run.requester === 'bob'],
    ['repo', { repo: 'acme/gadgets' }, (run: RunRecord) => run.repo === 'acme/gadgets'],
    ['active status', { status: 'RUNNING' as const }, (run: RunRecord) => run.status === 'RUNNING'],
    ['terminal status', { status: 'SUCCEEDED' as const }, (run: RunRecord) => run.status === 'SUCCEEDED'],
    [
      'requester and repo',
      { requester: 'alice', repo: 'acme/widgets' },
      (run: RunRecord) => run.requester === 'alice' && run.repo === 'acme/widgets',
    ],
    [
      'all three',
      { requester: 'carol', repo: 'acme/gadgets', status: 'RUNNING' as const },
      (run: RunRecord) => run.requester === 'carol' && run.repo === 'acme/gadgets' && run.status === 'RUNNING',
    ],
    [
      'repo and terminal status',
      { repo: 'acme/gadgets', status: 'SUCCEEDED' as const },
      (run: RunRecord) => run.repo === 'acme/gadgets' && run.status === 'SUCCEEDED',
    ],
  ])(
    'Given a filter by %s, When the runs are listed 2 at a time, Then exactly the matching runs come back, newest first, each once',
    async (_name, filters, matches) => {
      // When the runs are listed with the filters, two at a time
      const { ids } = await allPages({ ...filters, limit: 2 });
      // Then exactly the matching runs come back, newest first, each once
      const expected = newestFirst(stored.filter(matches));
      expect(expected.length).toBeGreaterThan(0);
      expect(ids).toEqual(expected);
    },
  );

  it('Given a repository that reads 3 items per DynamoDB page, When a filtered list asks for 2 at a time, Then it keeps reading until each page is full and returns every match once, newest first', async () => {
    // Given a repository that reads only 3 items per DynamoDB page (legacy indexes), so most pages hold no match
    const runs = createListingRunRepository(db.doc, db.names.runs, { listPageReadLimit: 3, listIndexes: mode });
    const expected = newestFirst(
      stored.filter((run) => run.requester === 'carol' && run.repo === 'acme/gadgets' && run.status === 'RUNNING'),
    );
    // When a filtered list asks for 2 at a time
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await runs.list({
        requester: 'carol',
        repo: 'acme/gadgets',
        status: 'RUNNING',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      ids.push(...page.runs.map((run) => run.runId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Then it still returns every match once, newest first
    expect(ids).toEqual(expected);
  });

  it('Given a filter nothing matches, When the runs are listed, Then the page is empty with no next cursor', async () => {
    expect(await list({ requester: 'nobody', limit: 10 })).toEqual({ runs: [], nextCursor: null });
  });

  it('Given a cursor it never issued (empty, garbage, forged, another version or too long), When the runs are listed with it, Then it is refused as an invalid cursor', async () => {
    const forged = Buffer.from(JSON.stringify({ v: 1, f: {}, after: 'x' })).toString('base64url');
    for (const cursor of ['', 'not-a-cursor', '!!!', forged, Buffer.from('{"v":2}').toString('base64url'), 'a'.repeat(5_000)]) {
      await expect(list({ limit: 5, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
  });

  it("Given a cursor from bob's list, When it is used to continue alice's list, Then it is refused", async () => {
    // Given a cursor from bob's list
    const { nextCursor } = await list({ requester: 'bob', limit: 2 });
    expect(nextCursor).not.toBeNull();
    // When it is used to continue alice's list
    const replay = list({ requester: 'alice', limit: 2, cursor: nextCursor! });
    // Then it is refused
    await expect(replay).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('Given a limit outside 1..100, When the runs are listed, Then it is refused', async () => {
    await expect(list({ limit: 0 })).rejects.toThrow();
    await expect(list({ limit: 101 })).rejects.toThrow();
  });
});
