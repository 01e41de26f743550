import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import type { NightshiftHome } from '../../local/home';
import { cliBin, repoRoot, runCli, startDevProcess, stopDevProcess, type DevProcess } from '../local/dev-process';
import { fastSession, testHome, templateCacheDir } from '../local/platform-harness';
import { localFixture } from '../support/test-config';

/** `nightshift dev` started as a user starts it, expected to refuse at once. */
function devRefusal(home: NightshiftHome, configFile: string, extraArgs: string[] = []) {
  const result = spawnSync(process.execPath, [cliBin, ...extraArgs, 'dev'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      NIGHTSHIFT_HOME: home.root,
      NIGHTSHIFT_CONFIG: configFile,
      NIGHTSHIFT_CACHE_DIR: templateCacheDir,
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Errors a person can act on (issue 16 item 5), each as the CLI prints it. */
describe('errors a person can act on', () => {
  const homes: string[] = [];
  afterAll(() => {
    for (const root of homes) rmSync(root, { recursive: true, force: true });
  });

  it('Given a config with three bad fields, When nightshift dev starts, Then it exits 1 listing every field with its path', () => {
    const config = localFixture() as Record<string, unknown> & { timeouts: Record<string, unknown>; repos: Record<string, unknown>[] };
    config.repos[0]!.name = 'not a repo';
    config.timeouts = { ...config.timeouts, maxMinuts: 5 };
    config.model = { ...(config.model as object), maxOutputTokens: 'lots' };
    const { home, configFile } = testHome(config);
    homes.push(home.root);
    const text = devRefusal(home, configFile);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`error: Invalid Nightshift configuration in ${configFile}:`);
    expect(text.stderr).toMatch(/^ {2}- repos\.0\.name: must be "owner\/name" as GitHub spells it$/m);
    expect(text.stderr).toMatch(/^ {2}- timeouts: Unrecognized key: "maxMinuts"$/m);
    expect(text.stderr).toMatch(/^ {2}- model\.maxOutputTokens: .*number/m);
    expect(text.stderr).not.toMatch(/\n\s+at /);

    const json = devRefusal(home, configFile, ['--json']);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stderr.trim().split('\n').at(-1)!) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe('invalid_config');
    expect(body.error.details.map((d) => d.path).sort()).toEqual(['model.maxOutputTokens', 'repos.0.name', 'timeouts']);
  }, 120_000);

  it('Given NIGHTSHIFT_CONFIG naming a file that does not exist, When nightshift dev starts, Then it says so and how to make one', () => {
    const { home } = testHome();
    homes.push(home.root);
    const missing = join(home.root, 'no-such.config.json');
    const result = devRefusal(home, missing);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`- (file): the file does not exist: create it (the committed nightshift.config.json is an example`);
  }, 120_000);

  describe('against nightshift dev', () => {
    let dev: DevProcess;
    beforeAll(async () => {
      const { home, configFile } = testHome();
      homes.push(home.root);
      dev = await startDevProcess({ home, configFile, session: fastSession });
    }, 180_000);
    afterAll(async () => {
      if (dev) await stopDevProcess(dev.child);
    });

    it("Given a budget below one model call's worst case, When submitted, Then the CLI says the amount needed and no run exists", () => {
      const refused = runCli(['submit', 'demo/sample-app', 'Fix slugify so the tests pass.', '--budget', '0.01'], dev.url);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^error: .*budgetUsd: must be at least \$0\.\d\d: one model call can cost up to that \(4096 output tokens at \$15 per million/m,
      );
      expect(runCli(['--json', 'runs'], dev.url).stdout).toContain('"runs":[]');
    });

    it('Given --api with a trailing /v1, When a command runs, Then the error says to drop it', () => {
      const result = spawnSync(process.execPath, [cliBin, '--api', `${dev.url}/v1`, 'runs'], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^error: GET \/v1\/runs failed: Not Found \[HTTP 404\]\. Hint: drop "\/v1" from --api/m);
    });
  });

  it('Given --api naming some other web server, or nothing, When a command runs, Then the error says what --api should be', async () => {
    const other = createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not here</body></html>'),
    );
    const port = await listenOnLoopback(other, 0);
    try {
      // Asynchronously: the server answers from this process.
      const stderr = await new Promise<string>((resolve) =>
        execFile(
          process.execPath,
          [cliBin, '--api', `http://127.0.0.1:${port}`, 'runs'],
          { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME } },
          (_error, _stdout, err) => resolve(err),
        ),
      );
      expect(stderr).toMatch(
        /^error: GET \/v1\/runs failed: .*Not here.*\[HTTP 404\]\. Hint: http:\/\/127\.0\.0\.1:\d+\/ does not look like the Nightshift API; --api \(or NIGHTSHIFT_API\) must be a stack's ApiUrl output/m,
      );
    } finally {
      await closeServer(other);
    }
    const nobody = runCli(['runs'], `http://127.0.0.1:${port}`);
    expect(nobody.stderr).toMatch(/connection refused \(nothing listens there\)\. Hint: start local mode/);
  });
});
