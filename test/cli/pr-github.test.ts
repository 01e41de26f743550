import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { cliBin, repoRoot } from '../local/dev-process';
import { runViewFixture } from '../support/run-view';

const runId = '01J9ZQ4V7K8M2N3P4Q5R6S7T8V';
const prUrl = 'https://github.com/acme/web/pull/12';
const diff = 'diff --git a/src/date.js b/src/date.js\n--- a/src/date.js\n+++ b/src/date.js\n@@ -1 +1 @@\n-old\n+new\n';

/** A deployed stack's run, as GET /v1/runs/{runId} answers it (checked against the API's own schema). */
const run = runViewFixture({
  runId,
  prompt: 'Fix the date test.',
  baseBranch: 'main',
  branch: `nightshift/${runId}-fix-the-date-test`,
  prUrl,
  costUsd: 0.12,
  maxMinutes: 30,
});

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** GitHub's REST API for one pull request, as GitHub answers it: JSON, or the diff for `application/vnd.github.diff`. */
function githubStandIn(seen: Seen[]) {
  return createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/repos/acme/private/pulls/3' && !req.headers.authorization) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    if (req.method !== 'GET' || req.url !== '/repos/acme/web/pulls/12') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    if (req.headers.accept === 'application/vnd.github.diff') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(diff);
    } else if (req.headers.accept === 'application/vnd.github+json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(
        JSON.stringify({
          number: 12,
          title: 'Fix the date test',
          body: 'Made the date test independent of the time zone.',
          state: 'open',
          draft: true,
          html_url: prUrl,
          head: { ref: run.branch },
          base: { ref: 'main' },
          user: { login: 'nightshift[bot]' },
        }),
      );
    } else {
      res
        .writeHead(415, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `Unsupported 'Accept' header: ${String(req.headers.accept)}` }));
    }
  });
}

/** The stack's API: the one run, at GET /v1/runs/{runId}. */
function stackStandIn(prOf: (id: string) => string) {
  return createServer((req, res) => {
    const id = /^\/v1\/runs\/([0-9A-Z]{26})$/.exec(req.url ?? '')?.[1];
    if (req.method === 'GET' && id)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...run, runId: id, prUrl: prOf(id) }));
    else
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }));
  });
}

const listen = (server: Server, host: string) =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));

/** This machine's first address that is not loopback (where a non-loopback GitHub can be stood in for). */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
/** The GitHub stand-in must listen on an address that is not loopback (a token is never sent to loopback); without one the test says why it is skipped. */
const itNotLoopback = externalAddress ? it : it.skip;
const unlessNoAddress = externalAddress ? '' : ' (skipped: this machine has no non-loopback IPv4 address)';

/** `nightshift pr <runId>` against a deployed stack whose PR is on GitHub (issue 16 item 6; docs/cli.md). */
describe('nightshift pr on GitHub', () => {
  const seen: Seen[] = [];
  const github = githubStandIn(seen);
  const stack = stackStandIn((id) => (id.endsWith('P') ? 'https://github.com/acme/private/pull/3' : prUrl));
  let githubPort = 0;
  let api = '';
  beforeAll(async () => {
    // All addresses, so the same server is reached as loopback (127.0.0.1, 127.0.0.2) and as another host.
    githubPort = await listen(github, '0.0.0.0');
    api = `http://127.0.0.1:${await listen(stack, '127.0.0.1')}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => github.close(resolve));
    await new Promise((resolve) => stack.close(resolve));
  });
  beforeEach(() => seen.splice(0));

  // A process of its own, and asynchronously: the stand-ins answer from this one.
  const pr = (githubApi: string, env: Record<string, string>, args: string[] = [], id = runId) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cliBin, ...args, 'pr', id], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: api, NIGHTSHIFT_GITHUB_API: githubApi, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });

  itNotLoopback(
    `Given GITHUB_TOKEN and a GitHub API that is not loopback, When nightshift pr runs, Then it asks for the PR as JSON and as a diff, with the token, and prints both${unlessNoAddress}`,
    async () => {
      const shown = await pr(`http://${externalAddress}:${githubPort}/`, { GITHUB_TOKEN: 'ghp_test_token_1' });
      expect(shown.stderr).toBe('');
      expect(shown.status).toBe(0);
      expect(shown.stdout).toBe(
        `#12 Fix the date test (draft, open)\n${run.branch} → main · ${prUrl}\n\nMade the date test independent of the time zone.\n\n--- diff main...${run.branch} ---\n${diff.trimEnd()}\n`,
      );
      expect(seen.map((s) => [s.path, s.headers.accept, s.headers.authorization, s.headers['x-github-api-version']])).toEqual([
        ['/repos/acme/web/pulls/12', 'application/vnd.github+json', 'Bearer ghp_test_token_1', '2022-11-28'],
        ['/repos/acme/web/pulls/12', 'application/vnd.github.diff', 'Bearer ghp_test_token_1', '2022-11-28'],
      ]);
      // GH_TOKEN does as well when GITHUB_TOKEN is not set; --json carries the same.
      seen.splice(0);
      const json = JSON.parse(
        (await pr(`http://${externalAddress}:${githubPort}`, { GH_TOKEN: 'gho_test_token_2' }, ['--json'])).stdout,
      ) as { pullRequest: { number: number; draft: boolean; url: string }; diff: string };
      expect(json).toMatchObject({ runId, pullRequest: { number: 12, draft: true, url: prUrl }, diff });
      expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer gho_test_token_2', 'Bearer gho_test_token_2']);
    },
  );

  it.each(['127.0.0.1', '127.0.0.2', 'localhost'])(
    'Given GITHUB_TOKEN and a GitHub API on loopback (%s), When nightshift pr runs, Then the token is never sent there',
    async (host) => {
      const shown = await pr(`http://${host}:${githubPort}`, { GITHUB_TOKEN: 'ghp_test_token_1', GH_TOKEN: 'gho_test_token_2' });
      expect(shown.status).toBe(0);
      expect(shown.stdout).toContain(diff.trimEnd());
      expect(seen.map((s) => [s.headers.accept, s.headers.authorization])).toEqual([
        ['application/vnd.github+json', undefined],
        ['application/vnd.github.diff', undefined],
      ]);
    },
  );

  itNotLoopback(
    `Given a private repository and no token, When nightshift pr runs, Then it fails in one line naming GITHUB_TOKEN${unlessNoAddress}`,
    async () => {
      const failed = await pr(`http://${externalAddress}:${githubPort}`, {}, [], `${runId.slice(0, 25)}P`);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toBe(
        `error: GET http://${externalAddress}:${githubPort}/repos/acme/private/pulls/3 answered HTTP 404 (a private repository needs GITHUB_TOKEN or GH_TOKEN)\n`,
      );
      expect(seen.map((s) => s.headers.authorization)).toEqual([undefined]);
    },
  );
});
