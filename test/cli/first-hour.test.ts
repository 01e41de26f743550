import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubApiRootFor, pullRequestLocation, terminalText } from '../../cli/commands/pull-request';
import { createBareRepoFromDirectory } from '../../local/forge';
import { demoAssets } from '../../local/demo';
import { cliBin, devPlatforms, repoRoot, runCli, stopDevProcess } from '../local/dev-process';
import { fastSession, sampleRepo, slowSession, templateCacheDir } from '../local/platform-harness';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';

/** A CLI process whose output is read while it runs. */
function watch(args: string[], env: Record<string, string | undefined>, cwd = repoRoot) {
  const child = spawn(process.execPath, [cliBin, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (output.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** The CLI a newcomer uses in the first hour (issue 16 item 6), as processes against `nightshift dev`. */
describe('the CLI in the first hour', () => {
  const platforms = devPlatforms();
  const platform = (session: string) => platforms.start(session);
  const dirs: string[] = [];
  afterAll(async () => {
    await platforms.stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('Given a long tool call, When submit --wait and logs --follow watch the run, Then both show the command running now', async () => {
    const dev = await platform(slowSession);
    const waiting = watch(['submit', sampleRepo, 'A slow run.', '--wait'], { NIGHTSHIFT_API: dev.url });
    const runId = await eventually(() => /submitted ([0-9A-Z]{26})/.exec(waiting.output.stderr)?.[1], 'submit to print the run id', 60_000);
    const following = watch(['logs', runId, '--follow'], { NIGHTSHIFT_API: dev.url });
    // The session's first tool call is `sleep 45`: while it runs, the progress line says so.
    await eventually(
      () => (/RUNNING · \d+ turns? · .* · running shell: sleep 45$/m.test(waiting.output.stderr) ? true : undefined),
      'submit --wait to show the running command',
      90_000,
    );
    await eventually(
      () => (/^\S+\s+tool_start\s+shell: sleep 45$/m.test(following.output.stdout) ? true : undefined),
      'logs --follow to print the tool start',
      60_000,
    );
    expect(runCli(['cancel', runId], dev.url).code).toBe(0);
    expect(await waiting.exited).toBe(4);
    expect(await following.exited).toBe(0);
  }, 180_000);

  it('Given a run that opened a PR in the local forge, When nightshift pr runs, Then it shows the PR and its diff', async () => {
    const dev = await platform(fastSession);
    const submitted = runCli(['submit', sampleRepo, 'Fix slugify so the tests pass.', '--wait'], dev.url);
    expect(submitted.code).toBe(0);
    const runId = /^([0-9A-Z]{26}) SUCCEEDED/m.exec(submitted.stdout)![1]!;

    const pr = runCli(['pr', runId], dev.url);
    expect(pr.code).toBe(0);
    expect(pr.stdout).toMatch(/^#1 .+ \(draft, open\)$/m);
    expect(pr.stdout).toMatch(new RegExp(`^nightshift/${runId}-\\S+ → main · http://127\\.0\\.0\\.1:\\d+/demo/sample-app/pull/1$`, 'm'));
    expect(pr.stdout).toMatch(/^--- diff main\.\.\.nightshift\/\S+ ---$/m);
    expect(pr.stdout).toMatch(/^diff --git a\/src\/slugify\.js b\/src\/slugify\.js$/m);
    expect(pr.stdout).toMatch(/^\+/m);

    const json = JSON.parse(runCli(['--json', 'pr', runId], dev.url).stdout) as {
      pullRequest: { number: number; draft: boolean; base: string };
      diff: string;
    };
    expect(json.pullRequest).toMatchObject({ number: 1, draft: true, base: 'main' });
    expect(json.diff).toContain('diff --git a/src/slugify.js');

    // A run without a PR says so in one line.
    const queued = runCli(['submit', 'demo/sample-app', 'Another task.'], dev.url).stdout.split(' ')[0]!;
    const none = runCli(['pr', queued], dev.url);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`^error: run ${queued} has no pull request \\(`));
  }, 180_000);

  it('Given a PR link, When its API is chosen, Then github.com, GitHub Enterprise and local mode each get theirs', async () => {
    const env = {};
    const noForge = async () => undefined;
    expect(pullRequestLocation('https://github.com/acme/web/pull/12')).toEqual({
      owner: 'acme',
      repo: 'web',
      number: 12,
      origin: 'https://github.com',
    });
    expect(
      githubApiRootFor(pullRequestLocation('https://github.com/acme/web/pull/12'), {
        apiOrigin: 'https://x.execute-api.us-east-1.amazonaws.com',
        localForge: noForge,
        env,
      }),
    ).toBe('https://api.github.com');
    expect(
      githubApiRootFor(pullRequestLocation('https://ghe.example.com/acme/web/pull/3'), {
        apiOrigin: 'https://api.example.com',
        localForge: noForge,
        env,
      }),
    ).toBe('https://ghe.example.com/api/v3');
    await expect(
      githubApiRootFor(pullRequestLocation('http://127.0.0.1:8787/acme/web/pull/3'), {
        apiOrigin: 'http://127.0.0.1:8787',
        localForge: async () => 'http://127.0.0.1:8789',
        env,
      }),
    ).resolves.toBe('http://127.0.0.1:8789');
    expect(
      githubApiRootFor(pullRequestLocation('https://github.com/acme/web/pull/1'), {
        apiOrigin: '',
        localForge: noForge,
        env: { NIGHTSHIFT_GITHUB_API: 'https://gh.internal/api/' },
      }),
    ).toBe('https://gh.internal/api');
    expect(() => pullRequestLocation('https://github.com/acme/web/issues/1')).toThrow(/is not a pull request URL/);
    expect(terminalText('title\u001b[31m red\u202E\r\nline\ttab')).toBe('title[31m red\nline\ttab');
  });

  it('Given the clone installed globally (npm install -g / npm link), When nightshift dev runs from another directory, Then it starts there with a human-readable log, and the CLI reaches it', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'ns-global-'));
    const work = mkdtempSync(join(tmpdir(), 'ns-project-'));
    dirs.push(prefix, work);
    const installed = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', repoRoot], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(installed.status).toBe(0);
    const bin = join(prefix, 'bin', 'nightshift');
    // A project directory as people have them (mkdtemp makes it private, which squid's user could not traverse).
    chmodSync(work, 0o755);
    writeFileSync(join(work, 'nightshift.config.json'), JSON.stringify(localFixture()));
    createBareRepoFromDirectory(join(work, '.nightshift', 'forge'), sampleRepo, demoAssets.sampleRepo);
    const env = {
      PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      HOME: process.env.HOME,
      PORT: '0',
      NIGHTSHIFT_MODEL: `replay:${fastSession}`,
      NIGHTSHIFT_CACHE_DIR: templateCacheDir,
    };
    const dev = spawn(bin, ['dev'], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    dev.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    dev.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const url = await eventually(
        () => /Nightshift local mode is ready on (http:\/\/127\.0\.0\.1:\d+) \(home (\S+),/.exec(stdout)?.slice(1),
        'the ready line',
        120_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${stdout}\n${stderr.slice(-3_000)}`);
      });
      expect(url[1]).toBe(join(work, '.nightshift'));
      // A person's log: time, level, message and key=value fields; no JSON objects.
      expect(stderr).toMatch(/^\d\d:\d\d:\d\d INFO {2}local platform ready {2}url=http:\/\/127\.0\.0\.1:\d+ {2}model=replay:/m);
      expect(stderr.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
      const runs = spawnSync(bin, ['runs'], { cwd: tmpdir(), env: { ...env, NIGHTSHIFT_API: url[0]! }, encoding: 'utf8' });
      expect(runs.stdout.trim()).toBe('no runs');
    } finally {
      await stopDevProcess(dev);
    }
  }, 240_000);
});
