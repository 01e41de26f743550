import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { cliBin, devPlatforms, repoRoot, runCli } from '../local/dev-process';
import { fastSession, slowSession } from '../local/platform-harness';
import { eventually } from '../support/eventually';

/** The CLI against local mode, as separate processes, as a user runs them. */
describe('nightshift CLI against local mode', () => {
  const platforms = devPlatforms();
  const platform = (session: string) => platforms.start(session);
  afterAll(() => platforms.stopAll());

  it('Given local mode, When submit --wait runs, Then it follows the run to the PR and exits 0, and status, runs and logs show it, also with --json', async () => {
    const dev = await platform(fastSession);
    const submitted = runCli(['submit', 'demo/sample-app', 'Fix slugify so the tests pass.', '--wait'], dev.url);
    expect(submitted.stderr).toMatch(/submitted [0-9A-Z]{26}/);
    expect(submitted.code).toBe(0);
    const runId =
      /^([0-9A-Z]{26}) SUCCEEDED · outcome pr_opened · pull request (http:\/\/127\.0\.0\.1:\d+\/demo\/sample-app\/pull\/\d+)$/m.exec(
        submitted.stdout,
      )?.[1];
    expect(runId).toBeDefined();

    const status = runCli(['status', runId!], dev.url);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^status\s+SUCCEEDED \(pr_opened\)$/m);
    expect(status.stdout).toMatch(/^requester\s+local:/m);

    const json = runCli(['--json', 'status', runId!], dev.url);
    expect(JSON.parse(json.stdout)).toMatchObject({ runId, status: 'SUCCEEDED', source: 'cli' });

    const runs = runCli(['runs', '--status', 'SUCCEEDED'], dev.url);
    expect(runs.stdout).toContain(runId);
    // each row shows the outcome and the PR
    const row = runs.stdout.split('\n').find((l) => l.startsWith(runId!))!;
    expect(row).toMatch(/SUCCEEDED\s+change\s+pr_opened\s+/);
    expect(row).toContain('/pull/');

    const logs = runCli(['logs', runId!], dev.url);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/model_turn/);
    expect(logs.stdout).toMatch(/tool_call\s+.*edit_file/);
    const jsonLogs = runCli(['--json', 'logs', runId!], dev.url)
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(jsonLogs.filter((e) => e.type === 'model_turn')).toHaveLength(4);
  }, 180_000);

  it('Given a bad repository, an unknown run or item, or an unreachable API, When the CLI is called, Then it prints one clear line and exits 1', async () => {
    const dev = await platform(fastSession);
    const bad = runCli(['submit', 'evil/repo', 'steal things'], dev.url);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: .*evil\/repo.* \[repo_not_allowed, HTTP 403\]$/m);

    const unknown = runCli(['status', '01M80AAAAAAAAAAAAAAAAAAAAA'], dev.url);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: .*\[run_not_found, HTTP 404\]\n$/);

    // Someone else's or an unknown inbox item is not found: one line.
    const item = runCli(['answer', '01M80AAAAAAAAAAAAAAAAAAAAA', 'yes'], dev.url);
    expect(item.code).toBe(1);
    expect(item.stderr).toMatch(/^error: .*\[inbox_item_not_found, HTTP 404\]\n$/);

    const closed = createServer();
    const port = await listenOnLoopback(closed, 0);
    await closeServer(closed);
    const nowhere = runCli(['runs'], `http://127.0.0.1:${port}`);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^error: cannot reach the Nightshift API at http:\/\/127\.0\.0\.1:\d+: connection refused/);
  }, 120_000);

  it('Given a running run followed by submit --wait, When it is cancelled, Then submit --wait exits with the CANCELLED code and logs --follow ends with the run', async () => {
    const dev = await platform(slowSession);
    const waiting = spawn(process.execPath, [cliBin, 'submit', 'demo/sample-app', 'A slow run to cancel.', '--wait'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: dev.url },
    });
    let stdout = '';
    let stderr = '';
    waiting.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    waiting.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exitCode = new Promise<number | null>((resolve) => waiting.once('exit', (code) => resolve(code)));
    const runId = await eventually(() => /submitted ([0-9A-Z]{26})/.exec(stderr)?.[1], 'submit to print the run id', 60_000);
    await eventually(() => (/RUNNING/.test(stderr) ? true : undefined), 'the live progress to show RUNNING', 60_000);

    const cancel = runCli(['cancel', runId], dev.url);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`cancel requested for ${runId}`);
    expect(await exitCode).toBe(4);
    expect(stdout).toMatch(new RegExp(`^${runId} CANCELLED`, 'm'));

    const followed = runCli(['logs', runId, '--follow'], dev.url);
    expect(followed.code).toBe(0);
    expect(followed.stderr).toMatch(new RegExp(`${runId} CANCELLED`));
    expect(followed.stdout).toMatch(/status\s+.*CANCELLED/);
  }, 180_000);
});
