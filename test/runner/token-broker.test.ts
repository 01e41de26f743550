import { generateKeyPairSync } from 'node:crypto';
import { parseConfig } from '../../core/config/load';
import { mintRunToken, repoSecretsFor, RepoSecretUnavailableError, RunNotActiveError } from '../../lambdas/token-broker';
import { verifyForgeToken } from '../../local/forge';
import { REPO, startRunnerHarness, testConfig, type RunnerHarness } from './support/runner-harness';

describe('the token broker', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  const appConfig = (apiUrl: string) =>
    parseConfig({
      ...testConfig(),
      github: { appId: 4242, installationId: 1, privateKeySecret: 'nightshift/github-app-key', apiUrl },
    });

  it.each(['SUCCEEDED', 'FAILED', 'CANCELLED', 'STARTING', 'QUEUED'] as const)('refuses a run that is %s', async (status) => {
    const run = await h.createRun({ status });
    const secrets = jest.fn(async () => 'never read');
    await expect(mintRunToken({ runs: h.db.store.runs, config: appConfig(h.forge.url), secrets }, { runId: run.runId })).rejects.toBeInstanceOf(RunNotActiveError);
    expect(secrets).not.toHaveBeenCalled();
  });

  it('refuses a running run whose cancel was requested, and malformed input', async () => {
    const run = await h.createRun({ status: 'RUNNING', cancelRequested: true });
    const deps = { runs: h.db.store.runs, config: appConfig(h.forge.url), secrets: async () => 'x' };
    await expect(mintRunToken(deps, { runId: run.runId })).rejects.toThrow(/cancel-requested/);
    await expect(mintRunToken(deps, { runId: run.runId, repo: 'other/repo' })).rejects.toThrow();
    await expect(mintRunToken(deps, { runId: '../etc' })).rejects.toThrow();
  });

  it('mints a GitHub App installation token for exactly the run repository with only the listed permissions', async () => {
    // Given a running run and an App whose key is in the secret store
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const run = await h.createRun({ status: 'RUNNING' });
    const secrets = jest.fn(async () => privateKey);
    const before = h.forge.requests.length;

    // When the runner asks for its token
    const response = await mintRunToken({ runs: h.db.store.runs, config: appConfig(h.forge.url), secrets }, { runId: run.runId });

    // Then the token request names one repository and only these permissions, signed as the App
    expect(secrets).toHaveBeenCalledWith('nightshift/github-app-key');
    const sent = h.forge.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/app/installations/1/access_tokens', auth: 'bearer', status: 201 });
    expect(sent[0]!.body).toEqual({ repositories: ['sample-app'], permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' } });
    expect(response).toMatchObject({ mode: 'app', repository: REPO, permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' } });
    // and the token works for that repository only
    expect(verifyForgeToken(h.forgeRoot, response.token)).toMatchObject({ repo: REPO });
    expect(JSON.stringify(h.forge.requests)).not.toContain(response.token);
    expect(JSON.stringify(h.forge.requests)).not.toContain(privateKey.slice(40, 80));
  });

  it('falls back to a personal access token secret (documented as weaker)', async () => {
    const run = await h.createRun({ status: 'RUNNING' });
    const config = parseConfig({ ...testConfig(), github: { tokenSecret: 'nightshift/github-pat' } });
    const response = await mintRunToken({ runs: h.db.store.runs, config, secrets: async (name) => (name === 'nightshift/github-pat' ? 'github_pat_0123456789abcdefghij\n' : 'wrong') }, { runId: run.runId });
    expect(response).toMatchObject({ mode: 'pat', token: 'github_pat_0123456789abcdefghij', repository: REPO });
  });

  it('issues forge tokens in local mode that the forge accepts for writes to that repository only', async () => {
    const run = await h.createRun({ status: 'RUNNING' });
    const response = await mintRunToken({ runs: h.db.store.runs, config: testConfig(), secrets: async () => 'unused', forgeRoot: h.forgeRoot }, { runId: run.runId });
    expect(response.mode).toBe('forge');
    const post = (token: string | undefined, repo: string) =>
      fetch(`${h.forge.url}/repos/${repo}/issues/999/comments`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `token ${token}` } : {}) }, body: JSON.stringify({ body: 'hi' }) });
    expect((await post(undefined, REPO)).status).toBe(401);
    expect((await post('nsf_forged', REPO)).status).toBe(401);
    expect((await post(response.token, REPO)).status).toBe(404); // authorised; the issue does not exist
  });

  describe('repo secrets', () => {
    // Two repositories with a secret each: a run of one gets only its own.
    const config = parseConfig({
      ...testConfig(),
      repos: [
        { ...testConfig().repos[0]!, secrets: { DEPLOY_KEY: 'nightshift/sample/deploy' } },
        { name: 'demo/other-app', secrets: { OTHER_KEY: 'nightshift/other/deploy' } },
      ],
    });
    const store: Record<string, string> = { 'nightshift/sample/deploy': 'sample-value', 'nightshift/other/deploy': 'other-value' };

    it("returns only the run repository's named secrets, reading no other", async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const secrets = jest.fn(async (name: string) => store[name]!);
      await expect(repoSecretsFor({ runs: h.db.store.runs, config, secrets }, { kind: 'repoSecrets', runId: run.runId })).resolves.toEqual({ repository: REPO, secrets: { DEPLOY_KEY: 'sample-value' } });
      expect(secrets.mock.calls).toEqual([['nightshift/sample/deploy']]);
    });

    it.each(['SUCCEEDED', 'FAILED', 'STARTING', 'QUEUED'] as const)('refuses a run that is %s, reading nothing', async (status) => {
      const run = await h.createRun({ status });
      const secrets = jest.fn(async (name: string) => store[name]!);
      await expect(repoSecretsFor({ runs: h.db.store.runs, config, secrets }, { kind: 'repoSecrets', runId: run.runId })).rejects.toBeInstanceOf(RunNotActiveError);
      expect(secrets).not.toHaveBeenCalled();
    });

    it('refuses a cancel-requested run, a caller naming a repository, and the wrong kind', async () => {
      const secrets = jest.fn(async (name: string) => store[name]!);
      const deps = { runs: h.db.store.runs, config, secrets };
      const cancelled = await h.createRun({ status: 'RUNNING', cancelRequested: true });
      await expect(repoSecretsFor(deps, { kind: 'repoSecrets', runId: cancelled.runId })).rejects.toThrow(/cancel-requested/);
      const run = await h.createRun({ status: 'RUNNING' });
      await expect(repoSecretsFor(deps, { kind: 'repoSecrets', runId: run.runId, repo: 'demo/other-app' })).rejects.toThrow();
      await expect(repoSecretsFor(deps, { runId: run.runId })).rejects.toThrow(/expected a repoSecrets request/);
      await expect(mintRunToken({ ...deps, forgeRoot: h.forgeRoot }, { kind: 'repoSecrets', runId: run.runId })).rejects.toThrow(/expected a githubToken request/);
      expect(secrets).not.toHaveBeenCalled();
    });

    it('names the variable and the secret, never a value, when a secret cannot be read', async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const failing = async () => {
        throw Object.assign(new Error('value-like text'), { name: 'AccessDeniedException' });
      };
      await expect(repoSecretsFor({ runs: h.db.store.runs, config, secrets: failing }, { kind: 'repoSecrets', runId: run.runId })).rejects.toEqual(
        new RepoSecretUnavailableError('could not read secret nightshift/sample/deploy for DEPLOY_KEY: AccessDeniedException'),
      );
    });
  });
});
