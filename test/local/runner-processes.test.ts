import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLog } from '../../local/local-log';
import { failLostLocalRunner } from '../../local/runner-loss';
import { RunnerProcesses, type RunnerExit } from '../../local/runner-processes';
import { eventually } from '../support/eventually';
import { isAlive } from '../support/processes';

const runId = '01JABCDEFGHJKMNPQRSTVWXYZ0';

/** A stand-in runner: prints its environment, starts a grandchild in its group, ignores nothing. */
const fakeRunner = `
const { spawn } = require('node:child_process');
console.log(JSON.stringify({ RUN_ID: process.env.RUN_ID, TASK_TOKEN: process.env.TASK_TOKEN, WS: process.env.NIGHTSHIFT_WORKSPACE, SECRET: process.env.PARENT_ONLY_SECRET ?? null, GRACE: process.env.NIGHTSHIFT_STOP_TIMEOUT_SECONDS }));
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('grandchild ' + grandchild.pid);
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
setInterval(() => {}, 1000);
`;

describe('runner processes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ns-runners-'));
    process.env.PARENT_ONLY_SECRET = 'do-not-pass';
  });
  afterEach(() => {
    delete process.env.PARENT_ONLY_SECRET;
    rmSync(dir, { recursive: true, force: true });
  });

  const processes = (env: Record<string, string> = {}, stopTimeoutMs = 5_000) =>
    new RunnerProcesses({
      command: [process.execPath, '-e', fakeRunner],
      cwd: dir,
      workDir: join(dir, 'work'),
      logsDir: join(dir, 'logs'),
      baseEnv: env,
      stopTimeoutMs,
      log: jsonLog(() => undefined),
    });

  const logOf = () => readFileSync(join(dir, 'logs', `${runId}.runner.log`), 'utf8');

  it('Given a run, When its runner is started and stopped, Then it ran with the task environment only, in its workspace, and its whole process group is stopped, leaving no pid file', async () => {
    const runners = processes();
    const exits: RunnerExit[] = [];
    runners.on('exited', (e) => exits.push(e));
    const { taskArn } = runners.start(runId, { RUN_ID: runId, TASK_TOKEN: 'tok' });
    expect(runners.runningRunIds()).toEqual([runId]);
    const grandchild = Number(await eventually(() => /grandchild (\d+)/.exec(logOf())?.[1], 'the grandchild', 10_000));
    const env = JSON.parse(logOf().split('\n')[0]!);
    // The runner is told the stop grace it has (5 s here), as the task definition tells it on ECS.
    expect(env).toEqual({ RUN_ID: runId, TASK_TOKEN: 'tok', WS: join(dir, 'work', runId), SECRET: null, GRACE: '5' });
    expect(existsSync(join(dir, 'work', runId))).toBe(true);

    await runners.stopTask(taskArn);
    expect(runners.runningRunIds()).toEqual([]);
    expect(exits).toEqual([{ runId, taskArn, code: null, signal: 'SIGTERM', stopRequested: true, lastErrorLines: [] }]);
    await eventually(() => (isAlive(grandchild) ? undefined : true), 'the grandchild to end', 10_000);
    expect(readdirSync(join(dir, 'logs')).filter((f) => f.endsWith('.pid'))).toEqual([]);
  });

  it('Given a runner that ignores SIGTERM, When it is stopped, Then it is killed once the stop timeout passes', async () => {
    const runners = processes({ IGNORE_TERM: '1' }, 300);
    runners.start(runId, { RUN_ID: runId, TASK_TOKEN: 'tok' });
    await eventually(() => (logOf().includes('grandchild') ? true : undefined), 'the runner to start', 10_000);
    const exited = new Promise<RunnerExit>((resolve) => runners.once('exited', resolve));
    await runners.stopRun(runId);
    expect(await exited).toMatchObject({ signal: 'SIGKILL', stopRequested: true });
    expect(logOf()).toContain('ignoring SIGTERM');
  });

  it('Given a running runner, When it dies on its own, Then its exit is reported as not stop-requested', async () => {
    const runners = processes();
    const { pid } = runners.start(runId, { RUN_ID: runId, TASK_TOKEN: 'tok' });
    const exited = new Promise<RunnerExit>((resolve) => runners.once('exited', resolve));
    process.kill(pid, 'SIGKILL');
    expect(await exited).toMatchObject({ runId, signal: 'SIGKILL', stopRequested: false });
  });

  it('Given a run with a runner, When a second runner is started for it or for a malformed run id, Then it is refused', () => {
    const runners = processes();
    runners.start(runId, { RUN_ID: runId });
    expect(() => runners.start(runId, {})).toThrow(/already has a runner/);
    expect(() => runners.start('../../etc', {})).toThrow(/malformed run id/);
    return runners.stopAll();
  });

  it('Given runners a crashed platform left behind, When a new platform process starts, Then it stops them, found by their pid files', async () => {
    const first = processes();
    const { pid } = first.start(runId, { RUN_ID: runId });
    await eventually(() => (logOf().includes('grandchild') ? true : undefined), 'the runner to start', 10_000);
    // A new platform process knows nothing of the first one's children, only the pid files on disk.
    const second = processes();
    const logs = join(dir, 'logs');
    const reaped = second.reapOrphans(() =>
      readdirSync(logs)
        .filter((f) => f.endsWith('.pid'))
        .map((f) => join(logs, f)),
    );
    expect(reaped).toEqual([runId]);
    await eventually(() => (isAlive(pid) ? undefined : true), 'the orphan to end', 10_000);
  });

  it('Given a runner that dies at start, When its exit is reported, Then its last stderr lines are kept, in its log too, and its run error has them redacted', async () => {
    const secret = 'repo-secret-value-0123456789';
    const dying = [
      "console.log('a log line on stdout');",
      "for (let i = 1; i <= 12; i++) console.error('setup line ' + i);",
      "console.error('cannot start: token ' + process.env.TASK_TOKEN + ' secret " + secret + " key ghp_' + 'a'.repeat(36));",
      'process.exit(3);',
    ].join('\n');
    const runners = new RunnerProcesses({
      command: [process.execPath, '-e', dying],
      cwd: dir,
      workDir: join(dir, 'work'),
      logsDir: join(dir, 'logs'),
      baseEnv: {},
      stopTimeoutMs: 5_000,
      log: jsonLog(() => undefined),
    });
    const exited = new Promise<RunnerExit>((resolve) => runners.once('exited', resolve));
    const token = 'task-token-value-abcdefghijklmnop';
    runners.start(runId, { RUN_ID: runId, TASK_TOKEN: token });
    const exit = await exited;
    expect(exit).toMatchObject({ code: 3, signal: null, stopRequested: false });
    // The last eight lines, stdout left out, in order; the log file still has everything.
    expect(exit.lastErrorLines).toHaveLength(8);
    expect(exit.lastErrorLines.slice(0, 7)).toEqual([
      'setup line 6',
      'setup line 7',
      'setup line 8',
      'setup line 9',
      'setup line 10',
      'setup line 11',
      'setup line 12',
    ]);
    expect(logOf()).toContain('a log line on stdout');
    expect(logOf()).toContain('setup line 1\n');

    const failures: { token: string; error: string; cause: string }[] = [];
    const result = await failLostLocalRunner(
      exit,
      { taskToken: token, secretValues: [secret] },
      async (t, error, cause) => void failures.push({ token: t, error, cause }),
    );
    expect(result.action).toBe('failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ token, error: 'Nightshift.RunnerLost' });
    const { cause } = failures[0]!;
    expect(cause).toMatch(
      /^the runner exited with code 3 without reporting\. last error lines: setup line 6 \| .* \| cannot start: token \[REDACTED\] secret \[REDACTED\] key \[REDACTED\]$/,
    );
    expect(cause).not.toContain(token);
    expect(cause).not.toContain(secret);
    expect(cause).not.toContain('ghp_');
  });
});
