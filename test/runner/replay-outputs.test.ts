import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordedOutputsFile } from '../../runner/model/replay-provider';
import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';

/**
 * A recording with `<name>.outputs.json` holds the tool outputs its model saw; replayed against the
 * current runner, a tool whose output changed fails the run (the recording needs a live re-run).
 */
describe('recorded tool outputs', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given the recorded fix session, When it replays with the outputs its model saw, Then the run succeeds', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end } = await startInProcessRun(h, run.runId, session('fix-failing-test')).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
  });

  it('Given a tool output that differs from the recording, When the session replays, Then the run fails, naming the tool call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-replay-'));
    const file = join(dir, 'fix-failing-test.jsonl');
    copyFileSync(session('fix-failing-test'), file);
    const outputs = JSON.parse(readFileSync(recordedOutputsFile(session('fix-failing-test')), 'utf8')) as Record<string, string>;
    outputs.tooluse_01 = outputs.tooluse_01!.replace('lines 1-6 of 6', 'lines 1-6 of 7');
    writeFileSync(recordedOutputsFile(file), JSON.stringify(outputs));
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end, provider } = await startInProcessRun(h, run.runId, file).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    expect((end as { cause: string }).cause).toContain('the output of tool call tooluse_01 differs from the recording');
    expect(provider.requests).toHaveLength(2);
  });
});
