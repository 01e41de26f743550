import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../cli/api-client';
import { COMMAND_MARKER_VARIABLE } from '../../runner/isolation/sandbox';
import { startDevProcess } from './dev-process';
import { sampleRepo, slowSession, startTestPlatform, testHome, untilStatus } from './platform-harness';
import { eventually } from '../support/eventually';
import { isRunning } from '../support/processes';
import { runnerPid } from '../support/runner-interruption';

describe('local mode: restart recovery', () => {
  it('Given a platform that crashed with a run running and one queued, When it starts again, Then both end FAILED local_restart, the orphaned runner and tool command are stopped, the slots freed, and the runs are still listed', async () => {
    const { home, configFile } = testHome();
    try {
      const dev = await startDevProcess({ home, configFile, session: slowSession });
      const client = new ApiClient({ baseUrl: dev.url });
      const running = await client.submit({ repo: sampleRepo, prompt: 'A run that is mid-flight when the platform dies.' });
      const queuedBehind = await client.submit({ repo: sampleRepo, prompt: 'A second one.' });
      await untilStatus(client, running.runId, (r) => r.status === 'RUNNING', 'the run to be RUNNING');
      const runner = await eventually(() => runnerPid(home.logs, running.runId), 'the runner pid file', 60_000);

      // A tool command of the run, as the sandbox starts one: its own process group and session, the
      // tool user, the command marker, HOME in the run's workspace (and a background child).
      const toolId = spawnSync('id', ['-u', 'nightshift-tool'], { encoding: 'utf8' });
      const asTool =
        process.getuid?.() === 0 && toolId.status === 0
          ? {
              uid: Number(toolId.stdout.trim()),
              gid: Number(spawnSync('id', ['-g', 'nightshift-tool'], { encoding: 'utf8' }).stdout.trim()),
            }
          : {};
      const toolHome = join(home.work, running.runId, 'home');
      const toolCommand = spawn('/bin/bash', ['-c', 'sleep 1000 & exec sleep 1000'], {
        detached: true,
        stdio: 'ignore',
        cwd: '/',
        env: { PATH: '/usr/bin:/bin', HOME: toolHome, [COMMAND_MARKER_VARIABLE]: 'left-by-a-crash' },
        ...asTool,
      });
      toolCommand.unref();
      const toolPid = toolCommand.pid!;

      // A crash: the platform process dies at once; its runner (own process group) is orphaned.
      dev.child.kill('SIGKILL');
      await new Promise((resolve) => dev.child.once('exit', resolve));
      expect(isRunning(runner)).toBe(true);
      expect(isRunning(toolPid)).toBe(true);

      const t = await startTestPlatform({ session: slowSession, home, configFile, keepHome: true });
      try {
        expect(t.platform.recovered).toEqual(expect.arrayContaining([running.runId]));
        const after = await t.client.getRun(running.runId);
        expect(after).toMatchObject({ status: 'FAILED', error: { code: 'local_restart' } });
        const other = await t.client.getRun(queuedBehind.runId);
        expect(other.status).toBe('FAILED');
        expect(await t.platform.store.slots.holders()).toEqual([]);
        await eventually(() => (isRunning(runner) ? undefined : true), 'the orphaned runner to be stopped', 60_000);
        // Its tool command's group is not the runner's: it is found by its marker and killed too.
        await eventually(() => (isRunning(toolPid) ? undefined : true), 'the orphaned tool command to be killed', 60_000);
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
