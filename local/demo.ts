import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client';
import { followRun } from '../cli/follow-run';
import { usd } from '../cli/format';
import { runProgress } from '../cli/progress';
import { bareRepoPath, createBareRepoFromDirectory, listPulls } from './forge';
import { ensureHome, resolveHome } from './home';
import { fileLog } from './local-log';
import { localRequester } from './operator';
import { repoRoot, startLocalPlatform } from './platform';

/** What the demo uses, all committed: a sample repository with a failing test, its config and a recorded session. */
export const demoAssets = {
  sampleRepo: join(repoRoot, 'local', 'demo', 'sample-app'),
  config: join(repoRoot, 'local', 'demo', 'nightshift.demo.json'),
  session: join(repoRoot, 'local', 'demo', 'session.jsonl'),
  repo: 'demo/sample-app',
  prompt: 'The tests in test/slugify.test.js fail. Fix slugify so they pass, without changing the tests.',
} as const;

export interface DemoOptions {
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Keep the temporary NIGHTSHIFT_HOME for a look around afterwards. */
  keepHome?: boolean;
}

/**
 * `npm run demo`: local mode in this process on a free port with a temporary home, a sample repository
 * with a failing test in the local forge, one run served by a recorded session, followed live, then the
 * draft PR it opened (title, body, diff). Exit 0 only when the run succeeded with a PR.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const home = resolveHome(mkdtempSync(join(tmpdir(), 'nightshift-demo-')));
  ensureHome(home);
  const say = (line: string) => {
    if (!options.json) options.err(line);
  };
  say(`Nightshift demo: local mode in ${home.root}`);
  // The in-process handlers log to the console as a Lambda would; the demo keeps them in the platform log.
  const platformLog = join(home.logs, 'platform.log');
  const restoreConsole = captureConsole(platformLog);
  say('Model: a recorded session replayed from local/demo/session.jsonl (replay, no AWS account, no model calls)');
  const platform = await startLocalPlatform({
    home,
    configFile: demoAssets.config,
    port: 0,
    model: `replay:${demoAssets.session}`,
    requester: localRequester(),
    log: fileLog(platformLog),
    handlerLogLevel: 'ERROR',
  });
  let ok = false;
  try {
    createBareRepoFromDirectory(home.forge, demoAssets.repo, demoAssets.sampleRepo, { message: 'Add slugify (its tests fail)' });
    say(`Local forge: ${platform.forgeUrl} with ${demoAssets.repo} (npm test fails: 2 of 3 tests)`);
    const client = new ApiClient({ baseUrl: platform.url, userAgent: 'nightshift-demo' });
    const submitted = await client.submit({ repo: demoAssets.repo, prompt: demoAssets.prompt }, { source: 'cli' });
    say(`Submitted run ${submitted.runId}: "${demoAssets.prompt}"`);
    const progress = options.json ? undefined : await runProgress({ label: submitted.runId });
    let turns = 0;
    const run = await followRun(client, submitted.runId, {
      pollMs: 500,
      onProgress: (r, t) => {
        turns = t;
        progress?.update(r, t);
      },
      onEvent: (event) => {
        if (event.type === 'tool_call' || event.type === 'test_result' || event.type === 'note')
          progress?.note(`  ${event.type === 'tool_call' ? '›' : '·'} ${event.message.slice(0, 160)}`);
      },
    });
    progress?.finish(run, turns);

    const pull =
      listPulls(home.forge, demoAssets.repo).find((p) => run.prUrl !== null && run.prUrl.endsWith(`/pull/${p.number}`)) ??
      listPulls(home.forge, demoAssets.repo)[0];
    const diff = pull
      ? execFileSync('git', ['--git-dir', bareRepoPath(home.forge, demoAssets.repo), 'diff', `${pull.base}...${pull.head}`], {
          encoding: 'utf8',
        })
      : '';
    if (options.json) {
      options.out(JSON.stringify({ run, pullRequest: pull ?? null, diff }));
    } else {
      options.out(
        `\nRun ${run.runId}: ${run.status}${run.outcome ? ` (${run.outcome})` : ''} · ${turns} model turns · ${usd(run.costUsd)} of ${usd(run.budgetUsd)} · tokens in ${run.tokens.input} out ${run.tokens.output}`,
      );
      if (run.error) options.out(`Reason: ${run.error.code}: ${run.error.message}`);
      if (pull) {
        options.out(`\nDraft pull request #${pull.number}${pull.draft ? ' (draft)' : ''}: ${pull.title}`);
        options.out(`${pull.head} → ${pull.base} · ${run.prUrl ?? ''}\n`);
        options.out(pull.body.trim());
        options.out(`\n--- diff ${pull.base}...${pull.head} ---\n${diff.trimEnd()}`);
      }
    }
    ok = run.status === 'SUCCEEDED' && pull !== undefined && pull.draft;
    if (!ok) options.err(`The demo run did not end with a draft pull request; the platform log is ${platformLog}`);
    return ok ? 0 : 1;
  } finally {
    await platform.stop();
    restoreConsole();
    // A failed demo keeps its home: the platform log and the runner's output are what explain it.
    if (ok && !options.keepHome && process.env.NIGHTSHIFT_DEMO_KEEP !== '1') rmSync(home.root, { recursive: true, force: true });
    else say(`Kept ${home.root}`);
  }
}

function captureConsole(file: string): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods)
    console[m] = (...args: unknown[]) =>
      appendFileSync(file, `${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
  return () => {
    methods.forEach((m, i) => {
      console[m] = saved[i]!;
    });
  };
}
