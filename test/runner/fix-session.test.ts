import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { branchHead, branchLog, createIssue, fileAt, listComments, listPulls } from '../../local/forge';
import { session, startInProcessRun, transcriptMicros, startRunnerHarness, type RunnerHarness } from './support/runner-harness';

describe('a replayed session that fixes the failing test', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given a run whose test fails, When the runner replays the recorded fix, Then it commits once on the run branch, leaves the base branch alone, opens a draft PR with the test delta and costs exactly the transcript', async () => {
    // Given a run of the sample repository whose `add` test fails
    const baseBefore = branchHead(h.bare, 'main')!;
    const run = await h.createRun({ prompt: 'Fix the failing add test' });

    // When the runner replays the recorded fix
    const { end, callbacks, logs } = await startInProcessRun(h, run.runId, session('fix-failing-test')).done;

    // Then it reports success with an opened PR
    expect(end.kind).toBe('succeeded');
    expect(callbacks.failures).toEqual([]);
    expect(callbacks.successes).toHaveLength(1);
    const result = callbacks.successes[0]!;
    expect(result.outcome).toBe('pr_opened');
    expect(result.branch).toMatch(new RegExp(`^nightshift/${run.runId}-fix-the-failing-add-test$`));
    // one heartbeat per model turn and per finished tool call (8), and after start, clone, base tests, head tests and the push
    expect(callbacks.heartbeats).toBe(13);

    // one commit on the run branch, on top of the untouched base
    expect(branchHead(h.bare, 'main')).toBe(baseBefore);
    const log = branchLog(h.bare, result.branch!, '%H%x09%an <%ae>%x09%B%x00');
    const commits = branchLog(h.bare, result.branch!, '%H');
    expect(commits).toHaveLength(2);
    expect(commits[1]).toBe(baseBefore);
    expect(log[0]).toContain('Nightshift <nightshift-bot@users.noreply.github.com>');
    expect(log.join('\n')).toContain(`Nightshift-Run: ${run.runId}`);
    expect(fileAt(h.bare, result.branch!, 'src/add.js')).toContain('return a + b;');
    expect(fileAt(h.bare, 'main', 'src/add.js')).toContain('return a - b;');

    // a draft PR whose body has the test delta, the usage and the replay label
    const pulls = listPulls(h.forgeRoot, 'demo/sample-app');
    expect(pulls).toHaveLength(1);
    const pr = pulls[0]!;
    expect(pr.draft).toBe(true);
    expect(pr.head).toBe(result.branch);
    expect(pr.base).toBe('main');
    expect(result.prUrl).toBe(`${h.forge.url}/demo/sample-app/pull/${pr.number}`);
    expect(pr.body).toContain('## Tests');
    expect(pr.body).toMatch(/1 passed, 1 failed at base .* → 2 passed, 0 failed at head/);
    expect(pr.body).toMatch(/\*\*Newly passing\*\*\n- `add adds two numbers`/);
    expect(pr.body).toMatch(/\*\*Newly failing\*\*\n- none/);
    expect(pr.body).toMatch(/\*\*Still failing\*\*\n- none/);
    expect(pr.body).toContain('M `src/add.js`');
    expect(pr.body).toContain('Replayed session');
    expect(pr.body).toContain(run.runId);
    expect(pr.body).toContain('Fixed `add` in src/add.js');

    // the REST calls the runner made, recorded by the forge: before the push it asks again that the branch is its own
    const calls = h.forge.requests.map((r) => `${r.method} ${r.path}`);
    const branchCheck = ['GET /repos/demo/sample-app', `GET /repos/demo/sample-app/branches/${encodeURIComponent(result.branch!)}`];
    expect(calls).toEqual([
      'GET /repos/demo/sample-app',
      ...branchCheck,
      'GET /repos/demo/sample-app/pulls',
      'POST /repos/demo/sample-app/pulls',
    ]);
    expect(h.forge.requests[4]!.body).toMatchObject({ draft: true, base: 'main', head: result.branch });
    expect(h.forge.requests.every((r) => r.auth === 'token')).toBe(true);

    // cost equal to the transcript's usage at config prices (compute is free in this config)
    const expected = transcriptMicros(session('fix-failing-test'));
    const stored = (await h.db.store.runs.get(run.runId))!;
    expect(stored.spentMicros).toBe(expected.micros);
    expect(stored.tokens).toEqual(expected.usage);
    expect(stored.status).toBe('RUNNING');
    expect(stored.branch).toBe(result.branch);
    expect(stored.prUrl).toBe(result.prUrl);

    // the timeline: status, replay label, tests at base and head, turns and tool calls, trace summary
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('status');
    expect(types.filter((t) => t === 'model_turn')).toHaveLength(4);
    expect(types.filter((t) => t === 'tool_call')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'test_result').map((e) => e.detail?.passed)).toEqual([false, true]);
    expect(events.some((e) => e.type === 'note' && e.message.startsWith('replayed session'))).toBe(true);
    const trace = events.find((e) => e.type === 'trace')!;
    expect(trace.detail).toMatchObject({ modelTurns: 4, toolCalls: 4, testRuns: 2 });
    const traceFile = trace.detail!.location as string;
    const traceLines = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(traceLines.filter((l) => l.type === 'model_turn')).toHaveLength(4);
    expect(traceFile).toBe(join(h.root, 'traces', run.runId, 'trace.jsonl'));

    // metrics as EMF lines
    const emf = logs.filter((l) => l.includes('"CloudWatchMetrics"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.filter((m) => m.ModelCalls === 1)).toHaveLength(4);
  });

  it('Given the branch and draft PR of a previous run and an issue, When the runner continues that branch, Then it commits on top of it and updates the same draft PR, linking the issue', async () => {
    // Given the branch and PR of the previous run, and an issue
    const [pr] = listPulls(h.forgeRoot, 'demo/sample-app');
    const headBefore = branchHead(h.bare, pr!.head)!;
    const issue = createIssue(h.forgeRoot, 'demo/sample-app', { title: 'Add notes', body: 'Please write NOTES.md' });
    const run = await h.createRun({ prompt: 'Add notes', branch: pr!.head, issue: issue.number });
    const before = h.forge.requests.length;

    // When the runner continues that branch
    const { end, provider } = await startInProcessRun(h, run.runId, session('protected-paths')).done;

    // The task message shows what the branch already changed against main (its base was not in the clone)
    const task = JSON.stringify((provider.requests[0] as { messages: { content: { text?: string }[] }[] }).messages[0]!.content[0]!.text);
    expect(task).toContain('# This branch so far (a continued run)');
    expect(task).toContain('src/add.js | 2 +-');
    expect(task).toContain('-  return a - b;');
    expect(task).toContain('+  return a + b;');

    // Then it commits on top of the branch and updates the same draft PR, linking the issue
    expect(end).toMatchObject({
      kind: 'succeeded',
      result: { outcome: 'pr_updated', branch: pr!.head, prUrl: `${h.forge.url}/demo/sample-app/pull/${pr!.number}` },
    });
    expect(branchLog(h.bare, pr!.head, '%H')[1]).toBe(headBefore);
    const updated = listPulls(h.forgeRoot, 'demo/sample-app');
    expect(updated).toHaveLength(1);
    expect(updated[0]!.draft).toBe(true);
    // Fixes #N only when the head tests passed, else Refs #N (test/runner/task-message.test.ts).
    expect(updated[0]!.body).toMatch(new RegExp(`\\n(Fixes|Refs) #${issue.number}\\n`));
    // the continued branch is checked before the clone and before the push; its settings come from the default branch
    const branchCheck = ['GET /repos/demo/sample-app', `GET /repos/demo/sample-app/branches/${encodeURIComponent(pr!.head)}`];
    expect(h.forge.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/demo/sample-app',
      ...branchCheck,
      'GET /repos/demo/sample-app',
      `GET /repos/demo/sample-app/issues/${issue.number}`,
      ...branchCheck,
      'GET /repos/demo/sample-app/pulls',
      `PATCH /repos/demo/sample-app/pulls/${pr!.number}`,
    ]);
    expect(listComments(h.forgeRoot, 'demo/sample-app', issue.number)).toEqual([]);
  });
});
