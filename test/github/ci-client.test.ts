import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { octokitCiClient } from '../../lambdas/github/github-ci-client';
import { mintWebhookToken } from '../../lambdas/github/webhook-token-broker';
import { CI_TOKEN_PERMISSIONS, WEBHOOK_TOKEN_PERMISSIONS } from '../../lambdas/github/webhook-token-contract';
import { webhookConfig } from './webhook-harness';
import { branchHead } from '../../local/forge';
import { withOneRepoForge } from '../support/one-repo-forge';

/**
 * The CI reads of auto-fix (lambdas/github/github-ci-client.ts) against the local forge's Actions and
 * checks endpoints, GitHub-shaped: the jobs of a workflow run, the check runs of its suite, and a job's
 * log through GitHub's redirect, of which only the end is kept.
 */
describe('the CI client against the local forge', () => {
  const local = withOneRepoForge('nightshift-forge-ci-');

  test('Given a failed workflow run on the local forge, When the CI client reads it, Then it gets jobs with their failed steps, check runs as Actions shows them, and the tail of a long log', async () => {
    const headSha = branchHead(join(local.root, 'acme', 'web.git'), 'main')!;
    const long = `${Array.from({ length: 20_000 }, (_, i) => `line ${i}`).join('\n')}\nthe failure at the end`;
    const run = local.forge.reportCi('acme/web', {
      headSha,
      headBranch: 'main',
      jobs: [
        { name: 'build', conclusion: 'success', steps: [{ name: 'Build', conclusion: 'success' }], log: 'built' },
        {
          name: 'test',
          conclusion: 'failure',
          steps: [
            { name: 'Checkout', conclusion: 'success' },
            { name: 'Run tests', conclusion: 'failure' },
          ],
          log: long,
        },
      ],
    });
    expect(run).toMatchObject({ conclusion: 'failure', headSha });
    const client = octokitCiClient({ baseUrl: local.forge.url, token: 'unused-for-reads', repo: 'acme/web' });
    const [build, test] = run.jobs;
    expect(await client.workflowJobs(run.workflowRunId)).toEqual([
      { id: build!.id, name: 'build', conclusion: 'success', failedSteps: [], summary: null, hasLog: true },
      { id: test!.id, name: 'test', conclusion: 'failure', failedSteps: ['Run tests'], summary: null, hasLog: true },
    ]);
    expect(await client.suiteCheckRuns(run.checkSuiteId)).toEqual([
      expect.objectContaining({ id: build!.id, name: 'build', hasLog: true }),
      expect.objectContaining({ id: test!.id, name: 'test', conclusion: 'failure', summary: null, hasLog: true }),
    ]);
    const tail = await client.jobLogTail(test!.id, 4_096);
    expect(tail!.truncated).toBe(true);
    expect(Buffer.byteLength(tail!.text)).toBeLessThanOrEqual(4_096);
    expect(tail!.text.endsWith('the failure at the end')).toBe(true);
    expect(await client.jobLogTail(build!.id, 4_096)).toEqual({ text: 'built', truncated: false });
    // A job without a log (expired, deleted): null, not an error.
    expect(await client.jobLogTail(999_999, 4_096)).toBeNull();
    // Nothing was delivered: no webhook is set.
    await local.forge.idle();
    expect(local.forge.deliveries).toEqual([]);
  });

  test("Given another app's check run, When the CI client reads the suite, Then it gets what the check reported, not a log", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          total_count: 1,
          check_runs: [
            {
              id: 5,
              name: 'circleci: test',
              conclusion: 'failure',
              output: { title: '2 tests failed', summary: 'slugify trims', text: null },
              app: { slug: 'circleci' },
            },
          ],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = octokitCiClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: 't',
        repo: 'acme/web',
      });
      expect(await client.suiteCheckRuns(1)).toEqual([
        {
          id: 5,
          name: 'circleci: test',
          conclusion: 'failure',
          failedSteps: [],
          summary: '2 tests failed\n\nslugify trims',
          hasLog: false,
        },
      ]);
    } finally {
      server.close();
    }
  });

  test('Given a webhook token request, When the broker mints it, Then the App is asked for checks and actions read only when asked with ci, never with checks write too', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const config = webhookConfig({
      github: {
        appId: 4242,
        installationId: 1,
        privateKeySecret: 'nightshift/github-app-key',
        webhookSecret: 'nightshift/gh-webhook',
        apiUrl: local.forge.url,
      },
    });
    const deps = { config, secrets: async () => privateKey };
    const asked = async (request: Record<string, unknown>) => {
      const before = local.forge.requests.length;
      await mintWebhookToken(deps, { kind: 'webhookToken', repo: 'acme/web', ...request });
      return local.forge.requests.slice(before).map((r) => (r.body as { permissions?: unknown }).permissions);
    };
    expect(await asked({ ci: true })).toEqual([{ ...CI_TOKEN_PERMISSIONS }]);
    expect(CI_TOKEN_PERMISSIONS).toEqual({ issues: 'write', pull_requests: 'read', metadata: 'read', checks: 'read', actions: 'read' });
    expect(await asked({})).toEqual([{ ...WEBHOOK_TOKEN_PERMISSIONS }]);
    await expect(mintWebhookToken(deps, { kind: 'webhookToken', repo: 'acme/web', ci: true, checks: true })).rejects.toThrow(/not both/);
  });
});
