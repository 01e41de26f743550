import '../core/polyfills';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../core/config/load';
import { createBareRepoFromDirectory } from '../local/forge';
import { directorySetupCacheStore } from '../runner/session/setup-cache';
import { session, startInProcessRun, startRunnerHarness, vendoredNpmProject } from '../test/runner/support/runner-harness';
import { runnerFixture, testConfig } from '../test/support/test-config';
import { runWhenMain } from './run-main';

/**
 * The setup cache: the setup phase of a first run (`npm ci --offline`, a miss, then the save) against
 * the next run's (the restore), on the sample repository depending on real npm packages (zod, yaml,
 * commander, typescript: packed from this checkout's node_modules, so the install needs no registry).
 * The runs are the runner's real session in this process, with the local mode's directory store.
 */
const REPO = 'demo/deps-app';
const packages = ['zod', 'yaml', 'commander', 'typescript'];
const rounds = 3;

async function main(): Promise<void> {
  const h = await startRunnerHarness();
  const cacheRoot = mkdtempSync(join(tmpdir(), 'nightshift-bench-setup-cache-'));
  try {
    const project = vendoredNpmProject(
      join(h.root, 'deps-project'),
      packages.map((p) => join(__dirname, '..', 'node_modules', p)),
    );
    createBareRepoFromDirectory(h.forgeRoot, REPO, project);
    const base = testConfig(runnerFixture());
    const config = parseConfig({ ...base, repos: [{ ...base.repos[0]!, name: REPO, setup: ['npm ci --offline --no-audit --no-fund'] }] });
    const setupMs = async (cacheDir: string) => {
      const run = await h.createRun({ repo: REPO, status: 'STARTING' });
      const store = directorySetupCacheStore(cacheDir, REPO);
      const { done } = startInProcessRun(h, run.runId, session('fix-failing-test'), {
        config,
        deps: { setupCache: () => ({ store, image: 'bench' }) },
      });
      const result = await done;
      if (result.end.kind !== 'succeeded') throw new Error(`benchmark run failed: ${JSON.stringify(result.end)}`);
      const events = (await h.db.store.events.list(run.runId, { limit: 500 })).events;
      const notes = events.filter((e) => e.message.startsWith('setup cache:')).map((e) => e.message);
      return { ms: result.session.timings.setup!, notes };
    };
    const cold: number[] = [];
    const cached: number[] = [];
    let lastNotes: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const dir = join(cacheRoot, String(i));
      cold.push((await setupMs(dir)).ms);
      const hit = await setupMs(dir);
      cached.push(hit.ms);
      lastNotes = hit.notes;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `setup phase, first run (npm ci of ${packages.join(', ')}, then the save): median ${median(cold).toFixed(0)} ms over ${rounds}`,
    );
    console.log(
      `setup phase, next run (restored from the setup cache): median ${median(cached).toFixed(0)} ms over ${rounds} (${((median(cached) / median(cold)) * 100).toFixed(0)}% of the first)`,
    );
    console.log(`  ${lastNotes.join('\n  ')}`);
  } finally {
    rmSync(cacheRoot, { recursive: true, force: true });
    await h.stop();
  }
}

runWhenMain(module, main);
