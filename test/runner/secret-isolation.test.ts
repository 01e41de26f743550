import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunEvent } from '../../core/runs/schemas';
import { brokerRequest } from '../../lambdas/token-broker';
import { branchLog, listPulls } from '../../local/forge';
import { startAwsLoopback, type AwsLoopback } from './support/aws-loopback';
import { runnerProcessEnv, session, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

/**
 * The runner as a real process (runner/main.ts), its AWS SDK clients pointed at loopback, with canary
 * secrets in its environment: the task token, AWS credentials and an unrelated variable. A recorded
 * session makes the tools dump their environment, PID 1's and their parent's (the runner's).
 */
const repoRoot = resolve(__dirname, '../..');
const isRoot = userInfo().uid === 0;

describe('the agent tools never see the runner secrets', () => {
  let h: RunnerHarness;
  let aws: AwsLoopback;
  const config = testConfig(runnerFixture());
  const canaries = {
    TASK_TOKEN: `CANARY-task-token-${randomBytes(8).toString('hex')}`,
    AWS_SECRET_ACCESS_KEY: `CANARY-aws-secret-${randomBytes(8).toString('hex')}`,
    AWS_SESSION_TOKEN: `CANARY-aws-session-${randomBytes(8).toString('hex')}`,
    ECS_CONTAINER_METADATA_URI_V4: `http://169.254.170.2/v4/CANARY-${randomBytes(4).toString('hex')}`,
    SOME_OTHER_SETTING: `CANARY-other-${randomBytes(8).toString('hex')}`,
  };

  /** What the probe run above saw, for the isolation checks that depend on who runs the tests. */
  let probed: { events: RunEvent[]; parent: string; pid1: string } | undefined;
  const probe = () => {
    if (!probed) throw new Error('the probe run (the first test) did not complete');
    return probed;
  };

  beforeAll(async () => {
    h = await startRunnerHarness();
    aws = await startAwsLoopback((_name, payload) => brokerRequest(h.brokerDeps(config), payload));
  });
  afterAll(async () => {
    await aws.stop();
    await h.stop();
  });

  it('Given canary secrets in the runner environment, When the agent probes env, /proc/1/environ and /proc/$PPID/environ, Then none is there, nor in the trace, logs, commit, PR body or run record', async () => {
    const run = await h.createRun({ prompt: 'Look at the environment' });
    const traceDir = join(h.root, 'traces');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'runner/main.ts')], {
      cwd: repoRoot,
      env: {
        ...runnerProcessEnv(h, { runId: run.runId, awsUrl: aws.url, config, sessionFile: session('environment-probe') }),
        ...canaries,
        NIGHTSHIFT_KEEP_WORKSPACE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });

    // the run went through: heartbeats and one success on the task token, a draft PR
    expect(aws.sfnCalls.filter((c) => c.action === 'SendTaskSuccess')).toHaveLength(1);
    expect(aws.sfnCalls.every((c) => c.input.taskToken === canaries.TASK_TOKEN)).toBe(true);
    const result = JSON.parse(aws.sfnCalls.find((c) => c.action === 'SendTaskSuccess')!.input.output!) as {
      outcome: string;
      branch: string;
    };
    expect(result.outcome).toBe('pr_opened');
    // Every broker call named this run and carried its run key; one of them asked for the GitHub token.
    expect(aws.invocations.length).toBeGreaterThan(5);
    expect(
      aws.invocations.every(
        (i) =>
          i.functionName === 'nightshift-token-broker' &&
          (i.payload as { runId: string; runKey: string }).runId === run.runId &&
          (i.payload as { runKey: string }).runKey === run.runKey,
      ),
    ).toBe(true);
    expect(aws.invocations.filter((i) => (i.payload as { kind: string }).kind === 'githubToken')).toHaveLength(1);

    // The trace keeps tool output, redacted: a leaked canary would show as itself or as [REDACTED].
    const trace = readFileSync(join(traceDir, run.runId, 'trace.jsonl'), 'utf8');
    const toolOutputs = trace
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; input?: { command?: string }; output?: string })
      .filter((l) => l.type === 'tool_call' && l.name === 'shell');
    expect(toolOutputs).toHaveLength(4);
    const [env, pid1, parent, scan] = toolOutputs.map((t) => t.output!);
    expect(env).toMatch(/^exit code 0/);
    expect(env).toContain('CI=true');
    expect(env).not.toMatch(/^(AWS_|ECS_|TASK_TOKEN|RUN_KEY|NIGHTSHIFT_PROXY_PASSWORD|SOME_OTHER)/m);
    for (const out of [env, pid1, parent, scan]) {
      expect(out).not.toContain('CANARY');
      expect(out).not.toContain(run.runKey);
      expect(out).not.toContain('[REDACTED]');
    }
    expect(scan).toMatch(/^exit code 0\n0\n?$/);

    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    probed = { events, parent, pid1 };

    // nowhere else either
    const stored = await h.db.store.runs.get(run.runId);
    const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === result.branch)!;
    const commits = branchLog(h.bare, result.branch, '%B%n%an%ae');
    const workspace = join(h.root, 'work', run.runId);
    const gitConfig = existsSync(join(workspace, 'git', 'config')) ? readFileSync(join(workspace, 'git', 'config'), 'utf8') : '';
    const everywhere = [
      trace,
      output,
      JSON.stringify(stored),
      JSON.stringify(events),
      JSON.stringify(pr),
      commits.join('\n'),
      gitConfig,
      JSON.stringify(h.forge.requests),
    ].join('\n');
    for (const value of [...Object.values(canaries), run.runKey]) expect(everywhere).not.toContain(value);
    expect(gitConfig).not.toMatch(/extraheader|nsf_/i);
  });

  (isRoot ? it : it.skip)(
    'Given a root runner (needs root), When the tools run, Then they run as another user, who cannot read the runner environment',
    () => {
      const { events, parent, pid1 } = probe();
      const toolUid = events.find((e) => e.detail?.isolation === 'uid')!.detail!.toolUid as number;
      expect(toolUid).toBeGreaterThan(0);
      expect(parent).toContain('Permission denied');
      expect(parent.trim().split('\n').at(-1)).toBe(String(toolUid));
      expect(pid1).toMatch(/Permission denied|No such file/);
    },
  );

  (isRoot ? it.skip : it)(
    'Given a runner that is not root (runs only when not root), When the tools run, Then the events say they share its user',
    () => {
      expect(probe().events.some((e) => e.type === 'note' && e.message.startsWith('isolation: not root'))).toBe(true);
    },
  );
});
