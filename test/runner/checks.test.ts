import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-bedrock-runtime';
import { listPulls } from '../../local/forge';
import type { ModelRequest } from '../../runner/model/provider';
import { checkDelta, type CheckResult } from '../../runner/session/checks-phase';
import { session, startInProcessRun, startRunnerHarness, writeProject, type RunnerHarness } from './support/runner-harness';

const result = (name: string, passed: boolean): CheckResult => ({
  name,
  command: name,
  passed,
  exitCode: passed ? 0 : 1,
  timedOut: false,
  outputTail: '',
});

describe('.nightshift.yml checks', () => {
  it("Given check results at base and head, When their delta is taken, Then it reads like the tests' delta", () => {
    expect(
      checkDelta(
        [result('lint', true), result('types', false), result('build', false)],
        [result('lint', false), result('types', false), result('build', true), result('new', false)],
      ),
    ).toEqual({
      newlyFailing: ['lint', 'new'],
      newlyPassing: ['build'],
      stillFailing: ['types'],
    });
  });

  describe('in a run', () => {
    let h: RunnerHarness;
    beforeAll(async () => {
      const project = writeProject(mkdtempSync(join(tmpdir(), 'nightshift-checks-')), {
        '.nightshift.yml': 'checks:\n  - name: lint\n    run: "! grep -rn debugger src"\n',
      });
      h = await startRunnerHarness({ project });
    });
    afterAll(async () => {
      await h.stop();
    });

    it('Given checks in .nightshift.yml, When a run finishes, Then they run at base and head, a newly failing check sends finish back, and the PR shows the table', async () => {
      const run = await h.createRun({ prompt: 'Fix the failing add test' });
      const { end, provider } = await startInProcessRun(h, run.runId, session('check-regression')).done;
      expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
      const messages = (provider.requests[2] as ModelRequest).messages as Message[];
      const gate = messages.at(-1)!.content![0]!.toolResult!.content![0]!.text!;
      expect(gate).toMatch(/^Not finished yet: check newly failing: lint\./);
      expect(gate).toContain('Checks (.nightshift.yml): lint failed at head.\nChecks newly failing:\n- lint');
      expect(gate).toContain('src/add.js:3:  debugger;');
      const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
      expect(events.filter((e) => e.message.startsWith('checks at ')).map((e) => e.message)).toEqual([
        'checks at base: lint passed',
        'checks at head: lint failed',
      ]);
      const pr = listPulls(h.forgeRoot, 'demo/sample-app')[0]!;
      expect(pr.body).toContain('## Checks\n| check | base | head |\n|---|---|---|\n| lint | passed | failed |');
      expect(pr.body).toContain('Checks newly failing at head: lint.');
    });
  });
});
