import { join } from 'node:path';
import { branchLog, createIssue, listComments, listPulls } from '../../local/forge';
import { addComment } from '../../local/forge/forge-records';
import { iterationReply } from '../../runner/github/iteration-reply';
import { startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';

const appendNote = join(__dirname, '..', 'fixtures', 'sessions', 'append-note.jsonl');
const REPO = 'demo/sample-app';

describe('a GitHub run on its thread (runner side)', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(() => h.stop());

  it('edits its status comment while running, and an iteration replies on its PR with the commit, files and test delta', async () => {
    // Given an issue run whose queued status comment the webhook posted
    const issue = createIssue(h.forgeRoot, REPO, { title: 'Keep notes', body: 'Please keep NOTES.md' });
    const status = addComment(h.forgeRoot, REPO, issue.number, 'queued');
    const first = await h.createRun({ prompt: 'Keep a notes file', source: 'github_issue', issue: issue.number, thread: `${REPO}#${issue.number}`, statusCommentId: status.id, requester: 'github:alice' });
    const one = await startInProcessRun(h, first.runId, appendNote).done;
    expect(one.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });

    // Then the comment was edited in place (no second status comment) to the running stage
    const comments = listComments(h.forgeRoot, REPO, issue.number);
    expect(comments.map((c) => c.id)).toEqual([status.id]);
    const edited = comments.find((c) => c.id === status.id)!;
    expect(edited.body).toContain(`run \`${first.runId}\`: 🏃 running`);
    expect(edited.body).toMatch(/1 model turn so far|2 model turns so far|preparing the workspace/);
    expect(h.forge.requests.some((r) => r.method === 'PATCH' && r.path === `/repos/${REPO}/issues/comments/${status.id}` && r.status === 200)).toBe(true);
    const prOf = one.end.kind === 'succeeded' ? one.end.result.prUrl! : '';
    const pr = Number(/\/pull\/(\d+)$/.exec(prOf)![1]);
    expect(listComments(h.forgeRoot, REPO, pr)).toEqual([]);

    // When a /nightshift iteration runs on the PR's branch
    const branch = listPulls(h.forgeRoot, REPO).find((p) => p.number === pr)!.head;
    const second = await h.createRun({ prompt: 'also keep a second note', source: 'github_comment', branch, thread: `${REPO}#${pr}`, requester: 'github:alice' });
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
  const base = { runId: '01JBX7M5Q6RZ5Y9V3G2H4K8N0P', branch: 'feature', commits: [{ sha: 'a'.repeat(40), subject: 'Handle `empty` lists' }], changedFiles: [{ status: 'M', path: 'src/list.js' }] };
  const tests = (failing: string[]) => ({ command: 'npm test', passed: failing.length === 0, exitCode: failing.length ? 1 : 0, timedOut: false, tests: Object.fromEntries([...failing.map((t) => [t, 'fail']), ['other', 'pass']]), format: 'jest' as const, output: '', durationMs: 1 });

  test('names the test delta; a requester that is not a GitHub login is not mentioned', () => {
    const reply = iterationReply({ ...base, requester: 'arn:aws:iam::1:user/x', baseTests: tests(['empty list']) as never, headTests: tests([]) as never, delta: { newlyFailing: [], newlyPassing: ['empty list'], stillFailing: [] } });
    expect(reply.startsWith('Nightshift run')).toBe(true);
    expect(reply).toContain("`Handle 'empty' lists`");
    expect(reply).toContain('1 passed, 1 failed at base → 1 passed, 0 failed at head.');
    expect(reply).toContain('Newly passing: `empty list`.');
    expect(iterationReply({ ...base, requester: 'github:evil@team', baseTests: undefined, headTests: undefined, delta: { newlyFailing: [], newlyPassing: [], stillFailing: [] } })).not.toContain('@');
  });
});
