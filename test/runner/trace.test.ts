import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brokerRequest } from '../../lambdas/token-broker';
import { Redactor } from '../../runner/redaction';
import { RunTrace } from '../../runner/trace/run-trace';
import type { TraceSink } from '../../runner/trace/trace-sink';
import { startAwsLoopback, type AwsLoopback } from './support/aws-loopback';
import { runnerProcessEnv, session, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';

const repoRoot = resolve(__dirname, '../..');

describe('the trace is stored as it grows', () => {
  it('Given a trace that stores every 3 records, When 7 records arrive and the run ends, Then it was stored every 3 records and whole at the end, redacted', async () => {
    // Given a trace that stores every 3 records into a recording sink
    const puts: string[] = [];
    const sink: TraceSink = {
      async put(_runId, body) {
        puts.push(body);
        return 'mem://trace';
      },
    };
    const redactor = new Redactor();
    redactor.add('CANARY-secret-value');
    const trace = new RunTrace(redactor, {
      sink,
      runId: 'r',
      flushEveryRecords: 3,
      flushEveryMs: 3_600_000,
      onError: (err) => {
        throw err;
      },
    });

    // When 7 records arrive, one holding a secret, then the run ends
    for (let i = 1; i <= 7; i++) trace.record({ type: 'note', message: i === 2 ? 'token CANARY-secret-value' : `note ${i}` });
    await eventually(() => (puts.length >= 2 ? true : undefined), 'two intermediate writes');
    const location = await trace.flush();

    // Then the stored copies were the first 3, the first 6 and all 7 lines, none with the secret
    expect(location).toBe('mem://trace');
    expect(puts.map((b) => b.trim().split('\n').length)).toEqual([3, 6, 7]);
    expect(puts.join('')).not.toContain('CANARY-secret-value');
    expect(puts[2]).toContain('token [REDACTED]');
  });

  it('Given a record waiting, When the interval passes, Then it is stored without a new record to trigger it', async () => {
    const puts: string[] = [];
    const trace = new RunTrace(new Redactor(), {
      sink: { put: async (_r, body) => (puts.push(body), 'x') },
      runId: 'r',
      flushEveryRecords: 100,
      flushEveryMs: 10,
      onError: () => undefined,
    });
    trace.record({ type: 'note', message: 'only one' });
    await eventually(() => (puts.length === 1 ? true : undefined), 'the interval write');
    expect(puts[0]).toContain('only one');
  });
});

describe('a runner killed mid-run', () => {
  let h: RunnerHarness;
  let aws: AwsLoopback;
  const config = testConfig(runnerFixture());

  beforeAll(async () => {
    h = await startRunnerHarness();
    aws = await startAwsLoopback((_name, payload) => brokerRequest(h.brokerDeps(config), payload));
  });
  afterAll(async () => {
    // The hanging tool command outlived its killed runner: end it (it is recognisable by its argument).
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u0000613.25\u0000') process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    await aws.stop();
    await h.stop();
  });

  it('Given a runner storing its trace after every record, When it is killed mid-command, Then the trace stored before the kill is kept', async () => {
    // Given a runner process storing its trace after every record, in a session that hangs on its second command
    const run = await h.createRun({ prompt: 'Do two steps' });
    const traceFile = join(h.root, 'traces', run.runId, 'trace.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'runner/main.ts')], {
      cwd: repoRoot,
      env: {
        ...runnerProcessEnv(h, { runId: run.runId, awsUrl: aws.url, config, sessionFile: session('crash-midway') }),
        TASK_TOKEN: 'task-token-for-the-crash-test',
        AWS_SECRET_ACCESS_KEY: 'local-secret',
        NIGHTSHIFT_TRACE_FLUSH_EVERY: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((done) => child.on('close', () => done()));
    try {
      // When it is killed (no SIGTERM handling, no wrap-up) while the second command hangs
      const stored = await eventually(
        () => {
          const text = existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '';
          return text.includes('step one done') && text.includes('sleep 613.25') ? text : undefined;
        },
        'the first tool call and the second model turn in the stored trace',
        30_000,
      );
      expect(stored).toBeDefined();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    // Then the stored trace is complete JSON lines up to the hang: tests at base, two model turns, the first tool call
    const lines = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string });
    expect(lines.filter((l) => l.type === 'test_result')).toHaveLength(1);
    expect(lines.filter((l) => l.type === 'model_turn')).toHaveLength(2);
    expect(lines.filter((l) => l.type === 'tool_call' && l.name === 'shell')).toHaveLength(1);
  });
});
