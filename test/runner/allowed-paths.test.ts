import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileAt, listPulls } from '../../local/forge';
import { parseNightshiftYml } from '../../runner/repo/repo-settings-file';
import { ProtectedPaths } from '../../runner/tools/protected-paths';
import { session, startInProcessRun, startRunnerHarness, writeProject, type RunnerHarness } from './support/runner-harness';
import { toolResultsById } from '../support/tool-results';

describe('.nightshift.yml allowedPaths', () => {
  it('Given allowedPaths, When paths are matched, Then only paths inside them may change and protected paths stay protected inside them', () => {
    const paths = new ProtectedPaths(['.github/workflows/**', 'src/generated/**'], ['src/**', 'test/**']);
    expect(paths.match('src/add.js')).toBeUndefined();
    expect(paths.match('test/deep/a.test.js')).toBeUndefined();
    expect(paths.match('README.md')).toBe('outside allowedPaths: src/**, test/**');
    expect(paths.match('src/generated/x.js')).toBe('src/generated/**');
    expect(paths.allowedGlobs).toEqual(['src/**', 'test/**']);
    // Without allowedPaths, everything that is not protected may change.
    expect(new ProtectedPaths(['.github/workflows/**']).match('README.md')).toBeUndefined();
  });

  it('Given a .nightshift.yml, When allowedPaths is empty or not a list of globs, Then the file is refused', () => {
    expect(parseNightshiftYml('allowedPaths: ["src/**"]\n')).toEqual({ allowedPaths: ['src/**'] });
    expect(() => parseNightshiftYml('allowedPaths: []\n')).toThrow(/allowedPaths/);
    expect(() => parseNightshiftYml('allowedPaths: src\n')).toThrow(/allowedPaths/);
  });

  describe('in a run', () => {
    let h: RunnerHarness;
    beforeAll(async () => {
      const project = writeProject(mkdtempSync(join(tmpdir(), 'nightshift-allowed-')), {
        '.nightshift.yml': 'allowedPaths:\n  - "src/**"\n',
      });
      h = await startRunnerHarness({ project });
    });
    afterAll(async () => {
      await h.stop();
    });

    it('Given allowedPaths src/**, When the agent edits outside them, Then the file tools refuse like a protected path and a shell edit there is left out of the commit', async () => {
      const run = await h.createRun({ prompt: 'Fix add' });
      const { end, provider } = await startInProcessRun(h, run.runId, session('allowed-paths')).done;
      expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
      const byId = toolResultsById(provider.requests);
      expect(byId.get('tooluse_01')).toMatchObject({
        status: 'error',
        content: [{ text: 'refused: NOTES.md is a protected path (outside allowedPaths: src/**); the runner will not change it' }],
      });
      expect(byId.get('tooluse_02')).toMatchObject({
        status: 'error',
        content: [{ text: expect.stringContaining('test.js is a protected path (outside allowedPaths: src/**)') }],
      });
      expect(byId.get('tooluse_04')!.status).toBe('success');
      // The system prompt says which paths may change.
      expect(JSON.stringify((provider.requests[0] as { system?: unknown }).system)).toContain('Only these paths may be changed');

      const branch = (await h.db.store.runs.get(run.runId))!.branch!;
      expect(fileAt(h.bare, branch, 'src/add.js')).toContain('return a + b;');
      expect(fileAt(h.bare, branch, 'test.js')).toBe(fileAt(h.bare, 'main', 'test.js'));
      expect(() => fileAt(h.bare, branch, 'NOTES.md')).toThrow(/does not exist/);
      const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
      expect(events.some((e) => e.message === 'changes to protected paths were left out of the commit: test.js')).toBe(true);
      expect(listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === branch)).toBeDefined();
    });
  });
});
