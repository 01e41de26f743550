import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { pauseResolveAndReadmit } from '../support/pause-resolution';
import { runnerFixture, testConfig } from '../support/test-config';

let h: RunnerHarness;
beforeAll(async () => {
  h = await startRunnerHarness();
});
afterAll(async () => {
  await h.stop();
});

describe('a runner task that sees itself stuck', () => {
  it('Given an agent that runs the same failing tests three times, When the runner sees it, Then it pauses (stuck) with what repeats; When the requester sends a hint, Then the next task goes on with the hint after the last tool results and opens the PR', async () => {
    const file = session('stuck-then-fix');
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const first = await startInProcessRun(h, run.runId, file).done;
    expect(first.end.kind).toBe('paused');
    // Three model calls, not the whole budget: the fourth is never asked for.
    expect(first.provider.requests).toHaveLength(3);
    const report = first.callbacks.pauses[0]!;
    expect(report.pause).toMatchObject({
      reason: 'stuck',
      details: { kind: 'repeated_failure', tool: 'shell', step: 'npm test', times: 3, turn: 3 },
    });
    expect(report.pause.details.failure).toMatch(/add/);

    const hint = 'The subtraction in src/add.js is the bug: make it an addition.';
    const { item, admitted } = await pauseResolveAndReadmit(h.db.store, {
      run,
      report,
      request: { action: 'answer', answer: hint },
      config: testConfig(runnerFixture()),
    });
    expect(item).toMatchObject({ type: 'stuck', state: 'open' });
    h.useRunKey(run.runId, admitted.runKey!);

    const second = await startInProcessRun(h, run.runId, file).done;
    expect(second.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened', branch: report.pause.branch } });
    const firstRequest = second.provider.requests[0] as {
      messages: { role: string; content: { text?: string; toolResult?: { toolUseId: string } }[] }[];
    };
    const last = firstRequest.messages.at(-1)!;
    expect(last.role).toBe('user');
    expect(last.content[0]?.toolResult?.toolUseId).toBe('tooluse_03');
    // After the turn's tool result (a cache point may follow it in the request).
    const texts = last.content
      .slice(1)
      .filter((b) => b.text !== undefined)
      .map((b) => b.text);
    expect(texts).toEqual([`[runner] You seemed stuck, so the run paused and asked the requester for help. Their hint:\n${hint}`]);
  });
});
