import { slowSession, sampleRepo, startTestPlatform, untilStatus, ended, type TestPlatform } from './platform-harness';
import { eventually } from '../support/eventually';
import { runnerPid } from '../support/runner-interruption';

/**
 * Runs that hold their slot (the recorded session's first tool call sleeps): cancelling a queued run and
 * a running one, and a runner process that dies without reporting.
 */
describe('local mode: cancel and runner loss', () => {
  let t: TestPlatform;
  const started: string[] = [];
  beforeAll(async () => {
    t = await startTestPlatform({ session: slowSession });
    t.platform.runners.on('started', ({ runId }) => started.push(runId));
  });
  afterAll(() => t?.stop());

  it('Given runs queued and running, When a queued and a running run are cancelled, Then both end CANCELLED, the queued one never starts and a second cancel changes nothing; When a runner is killed, Then its run ends FAILED runner_lost at once, from its exit, with nothing held', async () => {
    const a = await t.client.submit({ repo: sampleRepo, prompt: 'Slow run A.' });
    const b = await t.client.submit({ repo: sampleRepo, prompt: 'Slow run B.' });
    await untilStatus(t.client, a.runId, (r) => r.status === 'RUNNING', 'A to run');
    await untilStatus(t.client, b.runId, (r) => r.status === 'RUNNING', 'B to run');
    const c = await t.client.submit({ repo: sampleRepo, prompt: 'Queued run C.' });
    await untilStatus(t.client, c.runId, (r) => r.status === 'QUEUED' && r.queuePosition !== null, 'C to be queued behind the cap');

    // Cancel while queued: it ends CANCELLED and never gets a runner.
    await t.client.cancel(c.runId);
    const cancelledQueued = await untilStatus(t.client, c.runId, ended, 'C to end');
    expect(cancelledQueued.status).toBe('CANCELLED');
    expect(started).not.toContain(c.runId);

    // Cancel while running: the runner's process group is stopped and the slot freed.
    await t.client.cancel(a.runId);
    const cancelledRunning = await untilStatus(t.client, a.runId, ended, 'A to end');
    expect(cancelledRunning.status).toBe('CANCELLED');
    await eventually(() => (t.platform.runners.runningRunIds().includes(a.runId) ? undefined : true), "A's runner to stop", 60_000);
    // Cancelling again changes nothing.
    expect(await t.client.cancel(a.runId)).toMatchObject({ status: 'CANCELLED' });

    // Kill B's runner as if the machine under it died: nothing reports, its exit ends the run (not the heartbeat window).
    const pid = await eventually(() => runnerPid(t.home.logs, b.runId), "B's runner pid", 60_000);
    process.kill(pid, 'SIGKILL');
    const lost = await untilStatus(t.client, b.runId, ended, 'B to end', 100_000);
    expect(lost.status).toBe('FAILED');
    expect(lost.error).toMatchObject({
      code: 'runner_lost',
      message: expect.stringMatching(/^the runner was ended by signal SIGKILL without reporting/),
    });
    expect(await t.platform.store.slots.holders()).toEqual([]);
    expect((await t.platform.store.runs.get(b.runId))?.settled).toBe(true);
    const { events } = await t.client.events(b.runId);
    expect(events.some((e) => /runner process exited \(SIGKILL\) without reporting/.test(e.message))).toBe(true);
  }, 150_000);
});
