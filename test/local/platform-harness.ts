import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../cli/api-client';
import { isTerminal } from '../../core/runs/lifecycle';
import type { RunView } from '../../core/runs/schemas';
import { demoAssets } from '../../local/demo';
import { createBareRepoFromDirectory, issueForgeToken } from '../../local/forge';
import { setCollaborator } from '../../local/forge/forge-records';
import { ensureHome, resolveHome, type NightshiftHome } from '../../local/home';
import { jsonLog } from '../../local/local-log';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform';
import { eventually } from '../support/eventually';
import { localFixture } from '../support/test-config';

export const fastSession = demoAssets.session;
export const slowSession = join(__dirname, 'fixtures', 'slow-session.jsonl');
export const sampleRepo = 'demo/sample-app';
export const templateCacheDir = join(tmpdir(), 'nightshift-test-template-cache');

export interface TestPlatform {
  platform: LocalPlatform;
  client: ApiClient;
  home: NightshiftHome;
  logs: string[];
  stop(): Promise<void>;
}

/** A home with the test config and the sample repository in its forge. */
export function testHome(config: unknown = localFixture()): { home: NightshiftHome; configFile: string } {
  const home = resolveHome(mkdtempSync(join(tmpdir(), 'ns-local-')));
  ensureHome(home);
  const configFile = join(home.root, 'nightshift.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  createBareRepoFromDirectory(home.forge, sampleRepo, demoAssets.sampleRepo);
  return { home, configFile };
}

export async function startTestPlatform(options: {
  session: string;
  home?: NightshiftHome;
  configFile?: string;
  keepHome?: boolean;
  runnerStopTimeoutMs?: number;
}): Promise<TestPlatform> {
  const prepared = options.home && options.configFile ? { home: options.home, configFile: options.configFile } : testHome();
  const logs: string[] = [];
  // In-process handlers log to the console as a Lambda would; keep it out of Jest's output.
  const consoleLog = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
  const platform = await startLocalPlatform({
    home: prepared.home,
    configFile: prepared.configFile,
    port: 0,
    model: `replay:${options.session}`,
    requester: 'local:tester',
    log: jsonLog((line) => logs.push(line)),
    templateCacheDir,
    handlerLogLevel: 'SILENT',
    runnerStopTimeoutMs: options.runnerStopTimeoutMs ?? 5_000,
  });
  return {
    platform,
    client: new ApiClient({ baseUrl: platform.url }),
    home: prepared.home,
    logs,
    stop: async () => {
      await platform.stop();
      consoleLog.mockRestore();
      if (!options.keepHome) rmSync(prepared.home.root, { recursive: true, force: true });
    },
  };
}

/**
 * Local mode with the GitHub triggers (config `github.webhookSecret`), `alice` a writer on the sample
 * repository, and the scripted model `session`: the GitHub loop tests' platform. `prepare` sees the
 * home before the platform starts (to push a branch to the sample repository, say).
 */
export async function startGithubTestPlatform(
  session: string,
  config: Record<string, unknown> = localFixture(),
  prepare: (home: NightshiftHome) => void = () => undefined,
): Promise<TestPlatform> {
  const prepared = testHome({ ...config, github: { tokenSecret: 'nightshift/github-token', webhookSecret: 'nightshift/gh-webhook' } });
  setCollaborator(prepared.home.forge, sampleRepo, 'alice', 'write');
  prepare(prepared.home);
  return startTestPlatform({ session, ...prepared });
}

export function untilStatus(
  client: ApiClient,
  runId: string,
  wanted: (run: RunView) => boolean,
  what: string,
  deadlineMs = 60_000,
): Promise<RunView> {
  return eventually(
    async () => {
      const run = await client.getRun(runId);
      return wanted(run) ? run : undefined;
    },
    what,
    deadlineMs,
  );
}

export const ended = (run: RunView) => isTerminal(run.status);

/**
 * A person acting on the local forge over its REST API, as someone on GitHub would (a token of theirs,
 * on the sample repository): the answer's JSON; the status must be under 300 unless `expected` names it.
 */
export function actOnForge(
  t: TestPlatform,
): (login: string, method: string, path: string, body: unknown, expected?: number) => Promise<Record<string, unknown>> {
  return async (login, method, path, body, expected = 300) => {
    const { token } = issueForgeToken(t.home.forge, sampleRepo, null, 600, new Date(), login);
    const response = await fetch(`${t.platform.forgeUrl}/repos/${sampleRepo}${path}`, {
      method,
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (expected === 300) expect(response.status).toBeLessThan(300);
    else expect(response.status).toBe(expected);
    return (await response.json()) as Record<string, unknown>;
  };
}
