import { join } from 'node:path';
import { branchLog, createIssue, listComments, listPulls } from '../../local/forge';
import { addComment } from '../../local/forge/forge-records';
import { iterationReply } from '../../runner/github/iteration-reply';
import { STATUS_EDIT_INTERVAL_MS, StatusProgress } from '../../runner/session/status-progress';
import { startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';

const appendNote = join(__dirname, '..', 'fixtures', 'sessions', 'append-note.jsonl');
const REPO = 'demo/sample-app';

describe('a GitHub run on its thread (runner side)', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(() => h.stop());

  it('Given an issue run with a queued status comment, When it runs, Then the comment is edited in place; When an iteration runs on its PR, Then it replies there with the commit, files and test delta', async () => {
    // Given an issue run whose queued status comment the webhook posted
    const issue = createIssue(h.forgeRoot, REPO, { title: 'Keep notes', body: 'Please keep NOTES.md' });
    const status = addComment(h.forgeRoot, REPO, issue.number, 'queued');
    const first = await h.createRun({
      prompt: 'Keep a notes file',
      source: 'github_issue',
      issue: issue.number,
      thread: `${REPO}#${issue.number}`,
      statusCommentId: status.id,
      requester: 'github:alice',
    });
    const one = await startInProcessRun(h, first.runId, appendNote).done;
    expect(one.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });

    // Then the comment was edited in place (no second status comment) to the running stage
    const comments = listComments(h.forgeRoot, REPO, issue.number);
    expect(comments.map((c) => c.id)).toEqual([status.id]);
    const edited = comments.find((c) => c.id === status.id)!;
    expect(edited.body).toContain(`run \`${first.runId}\`: 🏃 running`);
    expect(edited.body).toMatch(/1 model turn so far|2 model turns so far|preparing the workspace/);
    expect(
      h.forge.requests.some((r) => r.method === 'PATCH' && r.path === `/repos/${REPO}/issues/comments/${status.id}` && r.status === 200),
    ).toBe(true);
    const prOf = one.end.kind === 'succeeded' ? one.end.result.prUrl! : '';
    const pr = Number(/\/pull\/(\d+)$/.exec(prOf)![1]);
    expect(listComments(h.forgeRoot, REPO, pr)).toEqual([]);

    // When a /nightshift iteration runs on the PR's branch
    const branch = listPulls(h.forgeRoot, REPO).find((p) => p.number === pr)!.head;
    const second = await h.createRun({
      prompt: 'also keep a second note',
      source: 'github_comment',
      branch,
      thread: `${REPO}#${pr}`,
      requester: 'github:alice',
    });
    const two = await startInProcessRun(h, second.runId, appendNote).done;
    expect(two.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_updated' } });

    // Then it replies on the PR, to the person who asked, with what it changed
    const replies = listComments(h.forgeRoot, REPO, pr);
    expect(replies).toHaveLength(1);
    const [head] = branchLog(h.bare, branch, '%H');
    expect(replies[0]!.body).toContain(`@alice Nightshift run \`${second.runId}\` pushed 1 commit to \`${branch}\``);
    expect(replies[0]!.body).toContain(`\`${head!.slice(0, 12)}\``);
    expect(replies[0]!.body).toContain('M `NOTES.md`');
    expect(replies[0]!.body).toMatch(/\*\*Tests\*\*\n.* at base → .* at head\./);
  }, 120_000);
});

describe('iterationReply', () => {
  const base = {
    runId: '01JBX7M5Q6RZ5Y9V3G2H4K8N0P',
    branch: 'feature',
    commits: [{ sha: 'a'.repeat(40), subject: 'Handle `empty` lists' }],
    changedFiles: [{ status: 'M', path: 'src/list.js' }],
  };
  const tests = (failing: string[]) => ({
    command: 'npm test',
    passed: failing.length === 0,
    exitCode: failing.length ? 1 : 0,
    timedOut: false,
    tests: Object.fromEntries([...failing.map((t) => [t, 'fail']), ['other', 'pass']]),
    format: 'jest' as const,
    output: '',
    durationMs: 1,
  });

  test("Given an iteration's result, When its reply is written, Then it names the test delta; a requester that is not a GitHub login is not mentioned", () => {
    const reply = iterationReply({
      ...base,
      requester: 'arn:aws:iam::1:user/x',
      baseTests: tests(['empty list']) as never,
      headTests: tests([]) as never,
      delta: { newlyFailing: [], newlyPassing: ['empty list'], stillFailing: [] },
    });
    expect(reply.startsWith('Nightshift run')).toBe(true);
    expect(reply).toContain("`Handle 'empty' lists`");
    expect(reply).toContain('1 passed, 1 failed at base → 1 passed, 0 failed at head.');
    expect(reply).toContain('Newly passing: `empty list`.');
    expect(
      iterationReply({
        ...base,
        requester: 'github:evil@team',
        baseTests: undefined,
        headTests: undefined,
        delta: { newlyFailing: [], newlyPassing: [], stillFailing: [] },
      }),
    ).not.toContain('@');
  });
});

describe('StatusProgress', () => {
  const runId = '01JBX7M5Q6RZ5Y9V3G2H4K8N0P';
  function progress(
    run: { thread: string | null; statusCommentId: number | null },
    stored: { statusCommentId: number | null },
    failEdit = false,
  ) {
    const edits: { id: number; body: string }[] = [];
    const warnings: string[] = [];
    let clock = 0;
    const ctx = {
      run: { runId, budgetMicros: 1_000_000, ...run },
      deps: { runs: { get: async () => ({ runId, ...stored }) } },
      log: { warn: (message: string) => warnings.push(message) },
      redactor: { redact: (s: string) => s },
    };
    const github = {
      updateIssueComment: async (id: number, body: string) => {
        if (failEdit) throw new Error('502 Bad Gateway');
        edits.push({ id, body });
      },
    };
    const status = new StatusProgress(ctx as never, github as never, () => clock);
    return { status, edits, warnings, tick: (ms: number) => (clock += ms) };
  }

  test('Given progress reports, When they come, Then the comment is edited at the first, then at most every STATUS_EDIT_INTERVAL_MS', async () => {
    const p = progress({ thread: 'acme/web#1', statusCommentId: 7 }, { statusCommentId: 7 });
    await p.status.report(0, 0);
    await p.status.report(1, 10_000);
    p.tick(STATUS_EDIT_INTERVAL_MS);
    await p.status.report(2, 20_000);
    expect(p.edits.map((e) => [e.id, /preparing|2 model turns/.exec(e.body)?.[0]])).toEqual([
      [7, 'preparing'],
      [7, '2 model turns'],
    ]);
  });

  test('Given a comment id the webhook stored after the runner started, When progress is reported, Then the id is read again; a run without a thread edits nothing', async () => {
    const late = progress({ thread: 'acme/web#1', statusCommentId: null }, { statusCommentId: 9 });
    await late.status.report(1, 0);
    expect(late.edits.map((e) => e.id)).toEqual([9]);
    const api = progress({ thread: null, statusCommentId: null }, { statusCommentId: null });
    await api.status.report(1, 0);
    expect(api.edits).toEqual([]);
  });

  test('Given a status edit that fails, When progress is reported, Then it is logged and the run goes on', async () => {
    const p = progress({ thread: 'acme/web#1', statusCommentId: 7 }, { statusCommentId: 7 }, true);
    await expect(p.status.report(1, 0)).resolves.toBeUndefined();
    expect(p.warnings).toEqual(['could not edit the status comment']);
  });
});
