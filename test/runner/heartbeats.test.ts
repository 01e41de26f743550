import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import type { RunEventLog } from '../../core/store/ports';
import { PHASE_HEARTBEAT_INTERVAL_MS, type HeartbeatTicker } from '../../runner/run-session';
import { stepFunctionsCallbacks } from '../../runner/task-callbacks';
import { startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import type { RunEnd } from '../../runner/run-session';

/** A heartbeat timer the test drives by hand: time never decides what the assertions see. */
function manualTicker() {
  const active = new Set<() => void>();
  const intervals: number[] = [];
  const ticker: HeartbeatTicker = (beat, intervalMs) => {
    intervals.push(intervalMs);
    active.add(beat);
    return () => active.delete(beat);
  };
  return {
    ticker,
    active,
    intervals,
    tick: () => {
      for (const beat of [...active]) beat();
    },
  };
}

/** A command that runs until the test creates `$HOME/<name>-release`, after announcing itself. */
const waitForRelease = (name: string) =>
  `touch "$HOME/${name}-started"; while [ ! -f "$HOME/${name}-release" ]; do sleep 0.05; done; echo "${name} done"`;

const usage = { inputTokens: 200, outputTokens: 40, totalTokens: 240, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 };
const toolTurn = (id: string, name: string, input: unknown) =>
  JSON.stringify({
    output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: id, name, input } }] } },
    stopReason: 'tool_use',
    usage,
  });

describe('heartbeats', () => {
  let h: RunnerHarness;
  let dir: string;
  const sfn = mockClient(SFNClient);

  beforeAll(async () => {
    h = await startRunnerHarness();
    dir = mkdtempSync(join(tmpdir(), 'nightshift-heartbeats-'));
  });
  afterAll(async () => {
    sfn.restore();
    rmSync(dir, { recursive: true, force: true });
    await h.stop();
  });
  beforeEach(() => sfn.reset());

  /** Lets every waiting command finish whatever happens to the assertions, so no process outlives the test. */
  const releaseAll = (home: string) => {
    for (const name of ['setup', 'tool']) if (existsSync(home)) writeFileSync(join(home, `${name}-release`), '');
  };

  it('Given a slow setup command and a slow agent shell command, When the run goes on, Then heartbeats follow every phase, tick during setup and test commands, and never while an agent tool command runs', async () => {
    // Given a repo whose setup command takes a while, and an agent whose shell command takes a while
    const timeline: string[] = [];
    sfn.on(SendTaskHeartbeatCommand).callsFake(() => {
      timeline.push('heartbeat');
      return {};
    });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const events: RunEventLog = {
      append: async (runId, type, message, detail) => {
        timeline.push(`${type}: ${message}`);
        return h.db.store.events.append(runId, type, message, detail);
      },
      list: (runId, options) => h.db.store.events.list(runId, options),
    };
    const clock = manualTicker();
    const run = await h.createRun({ prompt: 'Take your time' });
    const home = join(h.root, 'work', run.runId, 'home');

    // When the runner runs, and the timer fires three times while setup runs
    const started = startInProcessRun(h, run.runId, slowToolSession(), {
      config: slowSetupConfig(),
      callbacks: sfnCallbacks('task-token-1'),
      deps: { events, heartbeatTicker: clock.ticker },
    });
    try {
      await eventually(() => existsSync(join(home, 'setup-started')), 'the setup command to start');
      expect(clock.active.size).toBe(1);
      const beforeTicks = heartbeats();
      for (let i = 1; i <= 3; i++) {
        // A tick while the previous heartbeat is still in flight sends nothing: tick until this one arrives.
        await eventually(() => {
          if (heartbeats() < beforeTicks + i) clock.tick();
          return heartbeats() === beforeTicks + i;
        }, `timer heartbeat ${i}`);
      }
      expect(existsSync(join(home, 'setup-release'))).toBe(false);
      writeFileSync(join(home, 'setup-release'), '');

      // and no timer runs while the agent's shell command runs
      await eventually(() => existsSync(join(home, 'tool-started')), 'the agent tool command to start');
      expect(clock.active.size).toBe(0);
      const duringTool = heartbeats();
      clock.tick();
      expect(heartbeats()).toBe(duringTool);
    } finally {
      releaseAll(home);
    }
    const { end } = await started.done;

    // Then the run succeeded, and heartbeats followed every phase before the first model turn and after the last
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    expect(sfn.commandCalls(SendTaskHeartbeatCommand).every((c) => c.args[0].input.taskToken === 'task-token-1')).toBe(true);
    /** What came next after the first entry matching `pattern`, notes skipped. */
    const nextAfter = (pattern: RegExp) => {
      const i = timeline.findIndex((entry) => pattern.test(entry));
      expect({ pattern: String(pattern), found: i >= 0 }).toEqual({ pattern: String(pattern), found: true });
      return timeline.slice(i + 1).find((entry) => !entry.startsWith('note: '));
    };
    expect(nextAfter(/^status: RUNNING/)).toBe('heartbeat');
    expect(nextAfter(/^note: cloned /)).toBe('heartbeat');
    // the three timer heartbeats came while setup ran (before its event), one more right after it
    const cloned = timeline.findIndex((e) => e.startsWith('note: cloned '));
    const setup = timeline.findIndex((e) => e.startsWith('tool_call: setup:'));
    expect(timeline.slice(cloned + 1, setup).filter((e) => e === 'heartbeat')).toHaveLength(4);
    expect(nextAfter(/^tool_call: setup:/)).toBe('heartbeat');
    expect(nextAfter(/^test_result: tests at base/)).toBe('heartbeat');
    expect(nextAfter(/^test_result: tests at head/)).toBe('heartbeat');
    expect(nextAfter(/^note: pushed /)).toBe('heartbeat');
    // the timer ran only around the runner's own phases: clone, setup, base tests, head tests, push,
    // and the stuck watch's look at the workspace after each of the session's two tool turns
    expect(clock.intervals).toEqual(Array(7).fill(PHASE_HEARTBEAT_INTERVAL_MS));
    expect(clock.active.size).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('Given a run in its setup command, When a timer heartbeat finds the state machine no longer waits, Then the command is killed and the run reports it was interrupted', async () => {
    // Given a run in its setup command
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    const clock = manualTicker();
    const run = await h.createRun({ prompt: 'Take your time' });
    const home = join(h.root, 'work', run.runId, 'home');
    const started = startInProcessRun(h, run.runId, slowToolSession(), {
      config: slowSetupConfig(),
      callbacks: sfnCallbacks('task-token-2'),
      deps: { heartbeatTicker: clock.ticker },
    });
    let end: RunEnd | undefined;
    try {
      await eventually(() => existsSync(join(home, 'setup-started')), 'the setup command to start');

      // When its heartbeat window has passed and the timer fires
      sfn.on(SendTaskHeartbeatCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
      clock.tick();
      end = (await started.done).end;
    } finally {
      releaseAll(home);
    }

    // Then the command was killed without being released and the run reports it was interrupted
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.Interrupted', cause: expect.stringContaining('TaskTimedOut') });
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(1);
    expect(clock.active.size).toBe(0);
  });

  it.each(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation'])(
    'Given a task role refused SendTaskHeartbeat (%s), When the run starts, Then it ends at its first heartbeat with a clear error, with no retries until the heartbeat window passes',
    async (name) => {
      // Given a deploy whose task role may not call SendTask* on this state machine
      sfn
        .on(SendTaskHeartbeatCommand)
        .rejects(Object.assign(new Error('User is not authorized to perform: states:SendTaskHeartbeat'), { name, $metadata: {} }));
      sfn.on(SendTaskFailureCommand).rejects(Object.assign(new Error('not authorized'), { name, $metadata: {} }));
      const run = await h.createRun({ prompt: 'Fix the failing add test' });

      // When the run starts
      const { end } = await startInProcessRun(h, run.runId, slowToolSession(), { callbacks: sfnCallbacks('task-token-denied') }).done;

      // Then the first heartbeat was the only one, nothing else ran, and the timeline says what to check
      expect(heartbeats()).toBe(1);
      expect(end).toMatchObject({
        kind: 'failed',
        error: 'Nightshift.RunFailed',
        cause: expect.stringMatching(/^task_callbacks_denied: .*docs\/operations\.md/),
      });
      const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
      expect(events.find((e) => e.detail?.code === 'task_callbacks_denied')).toMatchObject({ type: 'status', detail: { reason: name } });
      expect(events.some((e) => e.type === 'tool_call' || e.type === 'model_turn')).toBe(false);
    },
  );

  const heartbeats = () => sfn.commandCalls(SendTaskHeartbeatCommand).length;

  const sfnCallbacks = (taskToken: string) =>
    Object.assign(stepFunctionsCallbacks(new SFNClient({ region: 'us-east-1' }), taskToken), {
      heartbeats: 0,
      successes: [],
      pauses: [],
      failures: [],
    });

  const slowSetupConfig = () => {
    const base = testConfig(runnerFixture());
    return parseConfig({ ...base, repos: [{ ...base.repos[0]!, setup: [waitForRelease('setup')] }] });
  };

  const slowToolSession = () => {
    const file = join(dir, 'slow-tool.jsonl');
    writeFileSync(
      file,
      [
        toolTurn('t1', 'shell', { command: waitForRelease('tool'), timeoutSeconds: 600 }),
        toolTurn('t2', 'write_file', { path: 'NOTES.md', content: 'x\n' }),
        toolTurn('t3', 'finish', { summary: 'Done.' }),
      ].join('\n'),
    );
    return file;
  };
});
