import { listPulls } from '../../local/forge';
import { ended, fastSession, sampleRepo, startTestPlatform, untilStatus, type TestPlatform } from './platform-harness';

/** Local mode driven over HTTP like a user: the synthesized definition, the real handlers, runner processes, the forge. */
describe('local mode: runs end to end', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ session: fastSession });
  });
  afterAll(() => t?.stop());

  it('Given the local platform, When it is ready, Then /v1/health answers 200', async () => {
    const res = await fetch(`${t.platform.url}/v1/health`);
    expect(res.status).toBe(200);
  });

  it('Given a submitted run, When it runs, Then it ends SUCCEEDED with a draft PR in the forge, its events and cost visible through the API, the slot free and the runner gone', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    expect(submitted.status).toBe('QUEUED');
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 90_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', requester: 'local:tester', source: 'cli', error: null });
    expect(run.costUsd).toBeGreaterThan(0);
    expect(run.tokens.input).toBeGreaterThan(0);
    // A local PR link opens the web console's PR view, on the API's port.
    expect(run.prUrl).toMatch(new RegExp(`^${t.platform.url}/demo/sample-app/pull/\\d+$`));

    const pull = listPulls(t.home.forge, sampleRepo).find((p) => run.prUrl!.endsWith(`/pull/${p.number}`));
    expect(pull).toMatchObject({ draft: true, state: 'open', base: 'main', head: run.branch });
    expect(pull!.body).toContain(run.runId);
    expect(pull!.body).toMatch(/replayed session/i);

    const { events } = await t.client.events(run.runId);
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['status', 'model_turn', 'tool_call', 'test_result']));
    expect(events.filter((e) => e.type === 'model_turn')).toHaveLength(4);
    expect(events.some((e) => /replayed session/.test(e.message))).toBe(true);
    // The slot is free again and the runner process is gone.
    expect(await t.platform.store.slots.holders()).toEqual([]);
    expect(t.platform.runners.runningRunIds()).toEqual([]);
  });

  it('Given 6 submissions and 2 slots, When they run, Then no more than 2 runner processes run at once and all 6 end SUCCEEDED', async () => {
    let live = 0;
    let peak = 0;
    const onStart = () => {
      live++;
      peak = Math.max(peak, live);
    };
    const onExit = () => live--;
    t.platform.runners.on('started', onStart);
    t.platform.runners.on('exited', onExit);
    try {
      const submitted = await Promise.all(
        Array.from({ length: 6 }, (_, i) => t.client.submit({ repo: sampleRepo, prompt: `Fix slugify (${i + 1} of 6).` })),
      );
      const runs = await Promise.all(submitted.map((s) => untilStatus(t.client, s.runId, ended, `run ${s.runId} to end`, 240_000)));
      expect(runs.map((r) => r.status)).toEqual(Array(6).fill('SUCCEEDED'));
      expect(peak).toBe(2);
      expect(await t.platform.store.slots.holders()).toEqual([]);
    } finally {
      t.platform.runners.off('started', onStart);
      t.platform.runners.off('exited', onExit);
    }
  }, 300_000);

  it('Given a repository outside the allowlist, When a run of it is submitted, Then it is refused with a clear 403 repo_not_allowed', async () => {
    await expect(t.client.submit({ repo: 'evil/repo', prompt: 'x' })).rejects.toMatchObject({ status: 403, code: 'repo_not_allowed' });
  });
});
