import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenBrokerSource } from '../../runner/github-token-source';
import { branchHead, branchLog, fileAt, listPulls } from '../../local/forge';
import {
  inProcessBroker,
  session,
  startInProcessRun,
  startRunnerHarness,
  transcriptMicros,
  writeProject,
  type RunnerHarness,
} from './support/runner-harness';
import { toolResultsById } from '../support/tool-results';
import { runnerFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import { isRunning } from '../support/processes';

describe('runner safety', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given an agent that writes protected paths, ".." and symlinks out, When it runs, Then write_file and edit_file are refused and shell edits of protected paths are kept out of the commit', async () => {
    const run = await h.createRun({ prompt: 'Try to change the CI workflow' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('protected-paths')).done;
    expect(end.kind).toBe('succeeded');

    // What each tool call returned to the model (requests carry the previous turn's results).
    const byId = toolResultsById(provider.requests);
    const text = (id: string) => byId.get(id)!.content[0]!.text;
    expect(byId.get('tooluse_01')!.status).toBe('error');
    expect(text('tooluse_01')).toMatch(/\.github\/workflows\/ci\.yml is a protected path/);
    expect(byId.get('tooluse_02')!.status).toBe('error');
    expect(text('tooluse_02')).toMatch(/protected path/);
    expect(text('tooluse_03')).toMatch(/must not contain "\.\."/);
    expect(text('tooluse_04')).toMatch(/must not contain "\.\."/);
    expect(text('tooluse_06')).toMatch(/leads outside the repository/);
    expect(text('tooluse_07')).toMatch(/protected path/);
    expect(byId.get('tooluse_09')!.status).toBe('success');
    expect(existsSync(join(h.root, 'work', 'escape.txt'))).toBe(false);

    // The shell appended to the workflow; the commit leaves it out and says so.
    const branch = (await h.db.store.runs.get(run.runId))!.branch!;
    expect(fileAt(h.bare, branch, '.github/workflows/ci.yml')).toBe(fileAt(h.bare, 'main', '.github/workflows/ci.yml'));
    expect(fileAt(h.bare, branch, 'NOTES.md')).toContain('Protected paths were respected.');
    const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === branch)!;
    expect(pr.body).toContain('## Protected paths left unchanged');
    expect(pr.body).not.toContain('M `.github/workflows/ci.yml`');
  });

  it('Given a command that outlives its timeout, When it runs, Then it is killed together with its children', async () => {
    const run = await h.createRun({ prompt: 'Run something slow' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('hanging-command')).done;
    expect(end.kind).toBe('succeeded');
    const result = toolResultsById(provider.requests).get('tooluse_01')!.content[0]!.text;
    expect(result).toMatch(/killed after the 2 s timeout/);
    expect(result).not.toContain('never');
    const child = Number(/child=(\d+)/.exec(result)![1]);
    // The background `sleep 300` was in the command's process group: it is gone too.
    await eventually(() => (isRunning(child) ? undefined : true), 'the background child to be killed');
  });

  it('Given a budget too small for the whole session, When the next call cannot be reserved, Then work in progress is pushed and the run ends BUDGET_EXCEEDED with an exact ledger', async () => {
    // Given a budget that covers the first call's worst case (≈ 2-5k input tokens + 256 output) but not the whole session
    const config = testConfig(runnerFixture({ maxOutputTokens: 256, fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 } }));
    const run = await h.createRun({ prompt: 'Fix add, slowly', budgetMicros: 22_000 });
    const { end, callbacks } = await startInProcessRun(h, run.runId, session('long-session'), { config }).done;

    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.BudgetExceeded' });
    expect(callbacks.failures).toHaveLength(1);
    expect(callbacks.failures[0]!.error).toBe('Nightshift.BudgetExceeded');
    expect(callbacks.failures[0]!.cause).toMatch(/work in progress pushed to nightshift\//);
    expect(callbacks.successes).toEqual([]);

    // WIP (the fix from turn 1) is on the run branch; no PR was opened for it
    const stored = (await h.db.store.runs.get(run.runId))!;
    const wip = branchLog(h.bare, stored.branch!, '%s');
    expect(wip[0]).toMatch(/^WIP: /);
    expect(fileAt(h.bare, stored.branch!, 'src/add.js')).toContain('return a + b;');
    expect(listPulls(h.forgeRoot, 'demo/sample-app').some((p) => p.head === stored.branch)).toBe(false);

    // the ledger holds exactly the settled turns plus the compute charge, and never more than the budget
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    const turns = events.filter((e) => e.type === 'model_turn').length;
    expect(turns).toBeGreaterThan(0);
    expect(turns).toBeLessThan(5);
    const compute = events.find((e) => e.type === 'note' && e.detail?.computeMicros !== undefined)!.detail!.computeMicros as number;
    expect(compute).toBeGreaterThan(0);
    const expected = transcriptMicros(session('long-session'), turns);
    expect(stored.spentMicros).toBe(expected.micros + compute);
    expect(stored.tokens).toEqual(expected.usage);
    // model spend stays inside the budget; compute is charged on top at the end
    expect(stored.spentMicros - compute).toBeLessThanOrEqual(stored.budgetMicros);
  });

  it('Given a command running, When SIGTERM comes, Then work in progress is pushed and the run reports an interruption within the deadline', async () => {
    const run = await h.createRun({ prompt: 'Fix add, then hang' });
    const stop = new AbortController();
    const started = startInProcessRun(h, run.runId, session('interrupted-session'), { stop: stop.signal });
    // wait until the hanging command runs (its turn was recorded), then stop as ECS would
    await eventually(
      async () =>
        (await h.db.store.events.list(run.runId, { limit: 100 })).events.some((e) => e.type === 'model_turn' && e.detail?.turn === 2) ||
        undefined,
      'turn 2',
    );
    stop.abort(new Error('SIGTERM'));
    const deadline = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('runner did not report within 30 s')), 30_000).unref(),
    );
    const { end, callbacks } = await Promise.race([started.done, deadline]);

    // A SIGTERM while the task token is live is an interruption (a Spot reclaim): the run checkpoints
    // to resume without a human (docs/inbox.md#resume-without-a-human) instead of failing.
    expect(end).toMatchObject({ kind: 'paused' });
    expect(callbacks.failures).toEqual([]);
    expect(callbacks.pauses[0]!.pause).toMatchObject({ reason: 'interrupted' });
    const branch = (await h.db.store.runs.get(run.runId))!.branch!;
    expect(branchLog(h.bare, branch, '%s')[0]).toMatch(/^WIP: /);
    expect(fileAt(h.bare, branch, 'src/add.js')).toContain('return a + b;');
  });

  it('Given a GitHub token about to expire, When the runner pushes, Then it asks the broker for a fresh one first', async () => {
    const run = await h.createRun({ prompt: 'Fix add late' });
    const issued: string[] = [];
    const tokens = {
      tokenFor: async (id: string) => {
        const t = await tokenBrokerSource(inProcessBroker(h.brokerDeps(testConfig(runnerFixture())), h.runKeyOf(id))).tokenFor(id);
        issued.push(t.token);
        // the first token is already at its end of life
        return issued.length === 1 ? { ...t, expiresAt: new Date(Date.now() + 60_000).toISOString() } : t;
      },
    };
    const { end } = await startInProcessRun(h, run.runId, session('fix-failing-test'), { tokens }).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    expect(issued).toHaveLength(2);
  });

  it('Given a ledger that keeps failing the final compute charge, When the session wraps up, Then success is never reported: the ledger would be short', async () => {
    // Given priced compute and a ledger that takes the compute charged before the first model call, then keeps failing
    const config = testConfig(runnerFixture({ fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 } }));
    const run = await h.createRun({ prompt: 'Make add accept strings' });
    const real = h.db.store.ledger;
    let chargeAttempts = 0;
    const ledger = {
      ...real,
      charge: async (runId: string, chargeId: string, micros: number) => {
        chargeAttempts++;
        if (chargeAttempts > 1) throw new Error('ProvisionedThroughputExceededException');
        await real.charge(runId, chargeId, micros);
      },
    };
    // When a session that would pause cleanly (the agent asks a human) wraps up
    const { callbacks } = await startInProcessRun(h, run.runId, session('ask-human'), { config, deps: { ledger } }).done;
    // Then the final charge was tried three times and the state machine hears a failure naming the missing charge
    expect(chargeAttempts).toBe(4);
    expect(callbacks.successes).toEqual([]);
    expect(callbacks.failures).toEqual([
      { error: 'Nightshift.RunFailed', cause: expect.stringMatching(/^compute_charge_failed: ProvisionedThroughputExceededException/) },
    ]);
    // And the compute charged before the model call is on the run
    expect((await h.db.store.runs.get(run.runId))!.spentMicros).toBeGreaterThan(0);
  });

  it('Given priced compute, When the session runs, Then compute is charged before each model call, so the call reservation counts it', async () => {
    // Given priced compute
    const config = testConfig(runnerFixture({ fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 } }));
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const charges: { id: string; micros: number }[] = [];
    const reservationsAfterCharges: number[] = [];
    const real = h.db.store.ledger;
    const ledger = {
      ...real,
      charge: async (runId: string, chargeId: string, micros: number) => {
        charges.push({ id: chargeId, micros });
        await real.charge(runId, chargeId, micros);
      },
      reserveCall: async (runId: string, callId: string, worst: number) => {
        reservationsAfterCharges.push(charges.length);
        await real.reserveCall(runId, callId, worst);
      },
    };
    // When the fix session runs
    const { callbacks } = await startInProcessRun(h, run.runId, session('fix-failing-test'), { config, deps: { ledger } }).done;
    expect(callbacks.successes).toHaveLength(1);
    // Then every model call's reservation came after a compute charge for the time before it
    expect(reservationsAfterCharges.length).toBeGreaterThan(1);
    reservationsAfterCharges.forEach((chargesSoFar, i) => {
      expect(chargesSoFar).toBeGreaterThanOrEqual(i + 1);
    });
    // And the charges are distinct, positive, and sum to the total the run reports
    expect(new Set(charges.map((c) => c.id)).size).toBe(charges.length);
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    const total = events.find((e) => e.type === 'note' && e.detail?.computeMicros !== undefined)!.detail!.computeMicros as number;
    expect(charges.every((c) => c.micros > 0)).toBe(true);
    expect(charges.reduce((sum, c) => sum + c.micros, 0)).toBe(total);
  });

  it('Given a replayed session that runs out, When the run asks for more, Then it fails clearly', async () => {
    const run = await h.createRun({ prompt: 'Ask too much' });
    const file = join(mkdtempSync(join(tmpdir(), 'ns-replay-')), 'short.jsonl');
    require('node:fs').writeFileSync(file, readFileSync(session('fix-failing-test'), 'utf8').split('\n')[0] + '\n');
    const { end } = await startInProcessRun(h, run.runId, file).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    expect((end as { cause: string }).cause).toMatch(
      /replayed session .*short\.jsonl has 1 recorded responses and the run asked for response 2/,
    );
  });
});

describe('a malformed .nightshift.yml', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    const dir = writeProject(mkdtempSync(join(tmpdir(), 'ns-badyml-')), {
      '.nightshift.yml': 'test: npm test\nsetup: not-a-list\nsurprise: true\n',
    });
    h = await startRunnerHarness({ project: dir });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given a malformed .nightshift.yml, When the run starts, Then it fails with a clear reason and pushes nothing', async () => {
    const run = await h.createRun();
    const refsBefore = branchHead(h.bare, 'main');
    const { end, callbacks, provider } = await startInProcessRun(h, run.runId, session('fix-failing-test')).done;
    expect(end.kind).toBe('failed');
    expect(callbacks.failures).toEqual([
      {
        error: 'Nightshift.RunFailed',
        cause: expect.stringMatching(/^bad_repo_settings: \.nightshift\.yml is invalid: .*setup: .*surprise/),
      },
    ]);
    expect(provider.requests).toHaveLength(0);
    expect(branchHead(h.bare, 'main')).toBe(refsBefore);
    const branch = (await h.db.store.runs.get(run.runId))!.branch!;
    expect(branchHead(h.bare, branch)).toBeUndefined();
    expect(listPulls(h.forgeRoot, 'demo/sample-app')).toEqual([]);
  });
});
