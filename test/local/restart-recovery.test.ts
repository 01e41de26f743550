import { rmSync } from 'node:fs';
import { ApiClient } from '../../cli/api-client';
import { startDevProcess } from './dev-process';
import { sampleRepo, slowSession, startTestPlatform, testHome, until, untilStatus } from './platform-harness';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local mode: restart recovery', () => {
  it('ends runs a crashed platform left active with reason local_restart, stops their runners and frees their slots; runs survive the restart', async () => {
    const { home, configFile } = testHome();
    try {
      const dev = await startDevProcess({ home, configFile, session: slowSession });
      const client = new ApiClient({ baseUrl: dev.url });
      const running = await client.submit({ repo: sampleRepo, prompt: 'A run that is mid-flight when the platform dies.' });
      const queuedBehind = await client.submit({ repo: sampleRepo, prompt: 'A second one.' });
      await untilStatus(client, running.runId, (r) => r.status === 'RUNNING', 'the run to be RUNNING');
      const runnerPid = await until(() => {
        try {
          return (JSON.parse(require('node:fs').readFileSync(`${home.logs}/${running.runId}.runner.pid`, 'utf8')) as { pid: number }).pid;
        } catch {
          return undefined;
        }
      }, 'the runner pid file');

      // A crash: the platform process dies at once; its runner (own process group) is orphaned.
      dev.child.kill('SIGKILL');
      await new Promise((resolve) => dev.child.once('exit', resolve));
      expect(alive(runnerPid)).toBe(true);

      const t = await startTestPlatform({ session: slowSession, home, configFile, keepHome: true });
      try {
        expect(t.platform.recovered).toEqual(expect.arrayContaining([running.runId]));
        const after = await t.client.getRun(running.runId);
        expect(after).toMatchObject({ status: 'FAILED', error: { code: 'local_restart' } });
        const other = await t.client.getRun(queuedBehind.runId);
        expect(other.status).toBe('FAILED');
        expect(await t.platform.store.slots.holders()).toEqual([]);
        await until(() => (alive(runnerPid) ? undefined : true), 'the orphaned runner to be stopped');
        // The data survived: both runs are still listed.
        const { runs } = await t.client.listRuns({ limit: 10 });
        expect(runs.map((r) => r.runId)).toEqual(expect.arrayContaining([running.runId, queuedBehind.runId]));
      } finally {
        await t.stop();
      }
    } finally {
      rmSync(home.root, { recursive: true, force: true });
    }
  }, 120_000);
});
