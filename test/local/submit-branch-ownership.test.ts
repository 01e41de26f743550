import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { execFileSync } from 'node:child_process';
import { bareRepoPath, issueForgeToken, protectBranch } from '../../local/forge';
import { ended, fastSession, sampleRepo, startTestPlatform, untilStatus, type TestPlatform } from './platform-harness';

/**
 * Issue 10 item 1 at submit, over HTTP in local mode: a `branch` (continue) that is the default branch,
 * a protected branch, the base branch, an alias of another, or a branch that is neither a nightshift/
 * branch nor an open pull request's head is refused with a 4xx before anything is written; the local
 * forge answers the GitHub API the branch facts function asks, as GitHub would.
 */
describe('local mode: submit refuses branches a run must not push', () => {
  let t: TestPlatform;
  let bare: string;
  let dynamo: DynamoDBClient;
  beforeAll(async () => {
    t = await startTestPlatform({ session: fastSession });
    bare = bareRepoPath(t.home.forge, sampleRepo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: bare });
    git('branch', 'release', 'main');
    protectBranch(bare, 'release');
    git('symbolic-ref', 'refs/heads/nightshift/alias', 'refs/heads/main');
    git('branch', 'feature/pr-head', 'main');
    git('branch', 'feature/no-pr', 'main');
    git('branch', 'nightshift/continue-me', 'main');
    const { token } = issueForgeToken(t.home.forge, sampleRepo, null);
    const pr = await fetch(`${t.platform.forgeUrl}/repos/${sampleRepo}/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Work in progress', head: 'feature/pr-head', base: 'main' }),
    });
    expect(pr.status).toBe(201);
    dynamo = new DynamoDBClient({
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    dynamo?.destroy();
    await t?.stop();
  });

  /** Every item of every table (runs, events, ledger and slots in control, idempotency). */
  async function everything(): Promise<string> {
    const tables = ['RUNS_TABLE', 'EVENTS_TABLE', 'CONTROL_TABLE', 'IDEMPOTENCY_TABLE'].map((name) => process.env[name]!);
    const items = await Promise.all(tables.map(async (TableName) => (await dynamo.send(new ScanCommand({ TableName }))).Items ?? []));
    return JSON.stringify(items);
  }

  async function submit(
    body: Record<string, unknown>,
  ): Promise<{ status: number; retryAfter: string | null; error?: { code: string; message: string } }> {
    const res = await fetch(`${t.platform.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nightshift-source': 'api' },
      body: JSON.stringify({ repo: sampleRepo, prompt: 'Continue the work.', ...body }),
    });
    const json = (await res.json()) as { error?: { code: string; message: string } };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), ...(json.error ? { error: json.error } : {}) };
  }

  test.each([
    ['the default branch', { branch: 'main' }, 422, /default branch/],
    ['the default branch in another case', { branch: 'Main' }, 422, /default branch/],
    ['the default branch as a ref', { branch: 'refs/heads/main' }, 400, /without "refs\/"/],
    ['HEAD', { branch: 'HEAD' }, 400, /HEAD/],
    ['a trailing slash', { branch: 'main/' }, 400, /must not start or end with "\/"/],
    ['a protected branch', { branch: 'release' }, 422, /protected/],
    ['the base branch', { branch: 'nightshift/topic', baseBranch: 'nightshift/topic' }, 422, /base branch/],
    ['the base branch in another case', { branch: 'nightshift/Topic', baseBranch: 'nightshift/topic' }, 422, /base branch/],
    ['an alias of the default branch', { branch: 'nightshift/alias' }, 422, /alias of main/],
    [
      'a branch no open pull request has as its head',
      { branch: 'feature/no-pr' },
      422,
      /neither a nightshift\/ branch nor the head branch/,
    ],
  ])(
    'Given a submit naming %s, When it is made, Then it is refused with a 4xx naming why and nothing is written',
    async (_what, body, status, message) => {
      const before = await everything();
      const answer = await submit(body);
      expect(answer.status).toBe(status);
      expect(answer.error?.code).toBe(status === 422 ? 'branch_not_allowed' : 'invalid_request');
      expect(answer.error?.message).toMatch(message);
      expect(await everything()).toEqual(before);
    },
  );

  it('Given a nightshift/ branch and the head branch of an open pull request, When runs on them are submitted, Then they are accepted and run to SUCCEEDED on that branch', async () => {
    for (const branch of ['nightshift/continue-me', 'feature/pr-head']) {
      const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.', branch });
      const run = await untilStatus(t.client, submitted.runId, ended, `the run on ${branch} to end`, 90_000);
      expect({ branch: run.branch, status: run.status, error: run.error }).toEqual({ branch, status: 'SUCCEEDED', error: null });
    }
  }, 200_000);

  it('Given GitHub cannot be asked, When a run continuing a branch is submitted, Then it is refused with a retryable 503 and nothing is written; a run continuing no branch is accepted', async () => {
    await t.platform.forge.stop();
    const before = await everything();
    const answer = await submit({ branch: 'nightshift/while-github-is-down' });
    expect(answer).toMatchObject({ status: 503, retryAfter: '30', error: { code: 'branch_check_unavailable' } });
    expect(await everything()).toEqual(before);
    // A run that continues no branch does not ask GitHub at submit.
    expect((await submit({})).status).toBe(202);
  });
});
