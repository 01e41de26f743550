import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { octokitRepoClient } from '../../lambdas/github/github-repo-client';
import {
  checkRunOf,
  endedComment,
  failureInPlainWords,
  queuedComment,
  runningComment,
  type EndedStatus,
} from '../../core/github/run-status';
import { endedStatusOf } from '../../core/github/run-status-report';
import type { RunEvent } from '../../core/runs/schemas';
import { branchHead, issueForgeToken } from '../../local/forge';
import { withOneRepoForge } from '../support/one-repo-forge';
import { addComment, createIssue, listCheckRuns, listComments } from '../../local/forge/forge-records';

const RUN = '01JBX7M5Q6RZ5Y9V3G2H4K8N0P';
const ev = (type: RunEvent['type'], detail: Record<string, unknown>, seq = 1): RunEvent => ({
  runId: RUN,
  seq: String(seq).padStart(6, '0'),
  at: '2026-12-02T10:00:00.000Z',
  type,
  message: type,
  detail,
});
const run = (over: Partial<EndedStatus['run']> = {}): EndedStatus['run'] => ({
  runId: RUN,
  status: 'SUCCEEDED',
  outcome: 'pr_opened',
  prUrl: 'https://github.com/acme/web/pull/7',
  branch: `nightshift/${RUN}-x`,
  error: null,
  spentMicros: 420_000,
  budgetMicros: 2_000_000,
  ...over,
});

describe('the status comment, from queued to the result', () => {
  test('Given a queued or running run, When its status comment is written, Then queued says where the run waits and running says turns and cost', () => {
    expect(queuedComment({ runId: RUN, behind: null, position: 3, budgetMicros: 1_000_000 })).toContain('position 3 in the queue');
    expect(queuedComment({ runId: RUN, behind: '01JBX7M5Q6RZ5Y9V3G2H4K8N0A', position: 1, budgetMicros: 1_000_000 })).toContain(
      'behind run `01JBX7M5Q6RZ5Y9V3G2H4K8N0A`',
    );
    expect(runningComment({ runId: RUN, turns: 4, spentMicros: 130_000, budgetMicros: 2_000_000 })).toMatch(
      /4 model turns so far.*\n\nCost so far \$0\.13 of the \$2\.00 budget/s,
    );
  });

  test("Given an ended run's timeline, When its result is written, Then it links the PR and shows the summary (inert), the test delta and the cost", () => {
    const events = [
      ev('test_result', { phase: 'base', passed: false, total: 3, failed: ['adds', 'subtracts'] }, 1),
      ev('model_turn', { turn: 1 }, 2),
      ev('model_turn', { turn: 2 }, 3),
      ev('test_result', { phase: 'head', passed: false, total: 3, failed: ['subtracts', 'divides'] }, 4),
      ev(
        'status',
        { from: 'RUNNING', to: 'SUCCEEDED', reason: { code: 'pr_opened', message: 'Fixed adds. ![x](https://evil.example/leak) @team' } },
        5,
      ),
    ];
    const status = endedStatusOf(run(), events);
    const body = endedComment(status);
    expect(body).toContain('opened a draft pull request: https://github.com/acme/web/pull/7');
    expect(body).toContain('Fixed adds.');
    expect(body).not.toContain('![x](https://evil.example');
    expect(body).not.toMatch(/(^|[^`])@team/);
    expect(body).toContain('newly failing: `divides`; newly passing: `adds`');
    expect(body).toContain('Cost $0.42 of the $2.00 budget, 2 model turns.');
    const check = checkRunOf(status);
    expect(check).toMatchObject({
      name: 'Nightshift',
      conclusion: 'neutral',
      title: 'Draft ready: 1 newly failing, 1 newly passing; $0.42',
    });
    expect(check.summary).toContain('Fixed adds.');
  });

  test.each([
    [
      { status: 'TIMED_OUT', error: { code: 'queue_timeout', message: 'the run waited too long for a concurrency slot' } },
      'waited too long for a free slot',
    ],
    [{ status: 'BUDGET_EXCEEDED', error: { code: 'budget_exceeded', message: 'budget exhausted' } }, 'ran out of budget'],
    [{ status: 'CANCELLED', error: { code: 'cancelled', message: 'the run was cancelled' } }, 'It was cancelled'],
    [{ status: 'FAILED', error: { code: 'no_progress', message: 'no heartbeat' } }, 'stopped making progress'],
  ] as const)('Given a run that ended %j, When its result is written, Then it says in plain words %j', (failure, words) => {
    expect(failureInPlainWords(failure)).toContain(words);
    const status = endedStatusOf(run({ ...failure, outcome: null, prUrl: null }), []);
    expect(endedComment(status)).toContain(words);
    expect(checkRunOf(status).conclusion).toBe(
      failure.status === 'CANCELLED' ? 'cancelled' : failure.status === 'TIMED_OUT' ? 'timed_out' : 'failure',
    );
  });
});

describe('the local forge answers the status endpoints GitHub-shaped (through the same Octokit client)', () => {
  const local = withOneRepoForge('nightshift-forge-status-');

  test('Given the local forge, When a status comment is edited and a check run written twice, Then the comment is edited in place and the check run created once and then updated', async () => {
    const issue = createIssue(local.root, 'acme/web', { title: 'x', body: 'y' });
    addComment(local.root, 'acme/web', issue.number, 'someone else');
    const { token } = issueForgeToken(local.root, 'acme/web', null);
    const client = octokitRepoClient({ baseUrl: local.forge.url, token, repo: 'acme/web', canWriteChecks: true });
    const { id } = await client.comment(issue.number, 'queued');
    await client.editComment(id, 'running');
    expect(listComments(local.root, 'acme/web', issue.number).map((c) => c.body)).toEqual(['someone else', 'running']);
    await expect(client.editComment(issue.number * 1_000_000 + 99, 'x')).rejects.toMatchObject({ status: 404 });

    const headSha = branchHead(join(local.root, 'acme', 'web.git'), 'main')!;
    const output = { name: 'Nightshift' as const, conclusion: 'success' as const, title: 'Draft ready', summary: 'first' };
    await client.upsertCheckRun({ headSha, externalId: RUN, output });
    await client.upsertCheckRun({ headSha, externalId: RUN, output: { ...output, conclusion: 'failure', summary: 'second' } });
    expect(listCheckRuns(local.root, 'acme/web')).toEqual([
      expect.objectContaining({
        name: 'Nightshift',
        headSha,
        externalId: RUN,
        status: 'completed',
        conclusion: 'failure',
        summary: 'second',
      }),
    ]);
    await expect(client.upsertCheckRun({ headSha: 'f'.repeat(40), externalId: RUN, output })).rejects.toMatchObject({ status: 422 });
  });

  test('Given pull requests on the local forge, When one is merged and one closed, Then each delivers pull_request.closed, merged or not; the platform itself cannot merge', async () => {
    const bare = join(local.root, 'acme', 'web.git');
    const received: {
      event: string;
      body: { action: string; pull_request: { number: number; merged: boolean; merged_at: string | null } };
    }[] = [];
    const hook = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        received.push({ event: String(req.headers['x-github-event']), body: JSON.parse(text) });
        res.writeHead(202).end('{}');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    local.forge.setWebhook(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, 'secret-0123456789');
    try {
      execFileSync('git', ['branch', 'feature', 'main'], { cwd: bare });
      execFileSync('git', ['branch', 'other', 'main'], { cwd: bare });
      const as = (login: string | null) => issueForgeToken(local.root, 'acme/web', null, 600, new Date(), login ?? undefined).token;
      const api = async (token: string, method: string, path: string, body: unknown) =>
        fetch(`${local.forge.url}/repos/acme/web${path}`, {
          method,
          headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const pr = (await (await api(as('acme'), 'POST', '/pulls', { title: 'f', head: 'feature', base: 'main' })).json()) as {
        number: number;
      };
      expect((await api(as(null), 'PUT', `/pulls/${pr.number}/merge`, {})).status).toBe(403);
      expect((await api(as('acme'), 'PUT', `/pulls/${pr.number}/merge`, {})).status).toBe(200);
      const other = (await (await api(as('acme'), 'POST', '/pulls', { title: 'o', head: 'other', base: 'main' })).json()) as {
        number: number;
      };
      expect((await api(as('acme'), 'PATCH', `/pulls/${other.number}`, { state: 'closed' })).status).toBe(200);
      await local.forge.idle();
      expect(received.map((r) => [r.event, r.body.action, r.body.pull_request.number, r.body.pull_request.merged])).toEqual([
        ['pull_request', 'closed', pr.number, true],
        ['pull_request', 'closed', other.number, false],
      ]);
      expect(received[0]!.body.pull_request.merged_at).toEqual(expect.any(String));
      expect(branchHead(bare, 'main')).toBe(branchHead(bare, 'feature'));
    } finally {
      hook.close();
    }
  });

  test('Given no token of the repository, When the client writes, Then nothing is written', async () => {
    const other = issueForgeToken(local.root, 'acme/other', null).token;
    const client = octokitRepoClient({ baseUrl: local.forge.url, token: other, repo: 'acme/web' });
    await expect(client.editComment(1_000_001, 'x')).rejects.toMatchObject({ status: 403 });
  });
});
