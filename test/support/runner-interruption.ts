import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ended, sampleRepo, untilStatus, type TestPlatform } from '../local/platform-harness';
import { eventually } from './eventually';

/**
 * The pid of a local run's runner, from the pid file the platform writes for it in the logs folder;
 * none while there is no such file or it is not whole yet (a platform in another process may be
 * writing it as the test reads).
 */
export function runnerPid(logs: string, runId: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(logs, `${runId}.runner.pid`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return (JSON.parse(text) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * A Fargate Spot interruption in local mode: submits the sample repository's slugify task, waits until
 * its runner has started the recorded `sleep 45` command (`sleeping` says where: in setup or in the
 * agent loop), sends that runner SIGTERM from outside the platform, as ECS does, and answers the
 * submission and the run once it has ended (`ending` names that wait).
 */
export async function submitAndSigtermWhileSleeping(t: TestPlatform, sleeping: string, ending: string) {
  const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
  await eventually(
    async () =>
      (await t.client.events(submitted.runId, { limit: 500 })).events.some((e) => e.type === 'tool_start' && /sleep 45/.test(e.message))
        ? true
        : undefined,
    sleeping,
    90_000,
  );
  const pid = await eventually(() => runnerPid(t.home.logs, submitted.runId), 'the runner pid', 60_000);
  process.kill(pid, 'SIGTERM');
  const run = await untilStatus(t.client, submitted.runId, ended, ending, 150_000);
  return { submitted, run };
}
