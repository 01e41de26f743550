import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client';
import { isTerminal } from '../core/runs/lifecycle';
import type { RunEvent, RunView } from '../core/runs/schemas';
import { bareRepoPath, branchHead, createBareRepoFromDirectory, createIssue } from '../local/forge';
import { ensureHome, resolveHome } from '../local/home';
import { fileLog } from '../local/local-log';
import { startLocalPlatform } from '../local/platform';
import { recordedOutputsFile } from '../runner/model/replay-provider';
import { grade } from './grader';
import { summarize, type EvalReport, type TrialResult } from './report';
import type { LoadedTask } from './task-suite';

export interface EvalOptions {
  tasks: readonly LoadedTask[];
  /** Trials per task. */
  k: number;
  /** NIGHTSHIFT_MODEL for the runners: `bedrock`, `anthropic`, `openai` or `replay:<absolute file>`. */
  model: string;
  /** The config's `model` block (provider, id, prices, key secret…); each task may lower its window and turns. */
  modelConfig: Record<string, unknown>;
  /** Where the report, the recorded sessions and the platform logs go. */
  outDir: string;
  /** `$NIGHTSHIFT_HOME/secrets.json` to give each task's platform (the model's API key in local mode). */
  secretsFile?: string;
  /** Progress lines (one per trial). */
  progress?: (line: string) => void;
}

const POLL_MS = 500;
/** A run gets its maxMinutes plus this long to end before the eval stops waiting for it. */
const GRACE_MS = 5 * 60_000;
const TEMPLATE_CACHE = join(tmpdir(), 'nightshift-eval-template-cache');

export const evalRepoName = (taskId: string) => `eval/${taskId}`;

function evalConfig(loaded: LoadedTask, modelConfig: Record<string, unknown>, maxMinutes: number) {
  const { task } = loaded;
  return {
    repos: [{ name: evalRepoName(task.id), test: task.test, budgetUsd: 5, maxMinutes }],
    budgets: { perRunUsd: 5, maxPerRunUsd: 10, perRequesterDailyUsd: 500, dailyUsd: 1_000 },
    concurrency: { global: 1, perRepo: 1 },
    timeouts: { maxMinutes, noProgressMinutes: 10 },
    // The package registries a task's setup could need; the tasks themselves need no network.
    egress: { allow: ['registry.npmjs.org', 'pypi.org', 'files.pythonhosted.org'] },
    model: {
      ...modelConfig,
      ...(task.contextWindowTokens ? { contextWindowTokens: task.contextWindowTokens } : {}),
      ...(task.maxTurns ? { maxTurns: task.maxTurns } : {}),
    },
    github: { tokenSecret: 'nightshift/github-token' },
  };
}

async function allEvents(client: ApiClient, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.events(runId, { limit: 200, ...(cursor ? { cursor } : {}) });
    events.push(...page.events);
    if (!page.nextCursor) return events;
    cursor = page.nextCursor;
  }
}

/** A run is over for the eval when it ended, or when it waits for the human the eval does not play. */
async function untilOver(client: ApiClient, runId: string, deadlineMs: number): Promise<RunView> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const run = await client.getRun(runId);
    if (isTerminal(run.status) || run.status === 'WAITING_FOR_HUMAN') return run;
    if (Date.now() > deadline) {
      await client.cancel(runId);
      throw new Error(`eval: run ${runId} did not end within ${Math.round(deadlineMs / 60_000)} minutes (cancelled)`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** What the events say about one run: turns, tool calls and their failures, edits, compactions. */
export function runActivity(
  events: readonly RunEvent[],
): Pick<TrialResult, 'turns' | 'toolCalls' | 'toolErrors' | 'edits' | 'editFailures' | 'compactions'> {
  const tools = events.filter((e) => e.type === 'tool_call' && e.detail?.name !== 'setup');
  const edits = tools.filter((e) => e.detail?.name === 'edit_file');
  return {
    turns: events.filter((e) => e.type === 'model_turn').length,
    toolCalls: tools.length,
    toolErrors: tools.filter((e) => e.detail?.isError === true).length,
    edits: edits.length,
    editFailures: edits.filter((e) => e.detail?.isError === true).length,
    compactions: events.filter(
      (e) =>
        e.type === 'note' &&
        (e.message.startsWith('conversation compacted') || e.message.includes("did not fit the model's context window")),
    ).length,
  };
}

/**
 * Runs every task k times through the real local platform (docs/local-mode.md: the state machine, the runner
 * as its own process, the local forge) with the given model, records each run (responses and the
 * tool outputs the model saw), grades each run's branch diff against the base commit, and writes
 * `report.json` to outDir. One platform per task, so a task's window and turn limit are its own.
 */
export async function runEval(options: EvalOptions): Promise<EvalReport> {
  const replays = join(options.outDir, 'replays');
  mkdirSync(replays, { recursive: true });
  const trials: TrialResult[] = [];
  for (const loaded of options.tasks) {
    const { task } = loaded;
    const home = resolveHome(mkdtempSync(join(tmpdir(), `nightshift-eval-${task.id}-`)));
    ensureHome(home);
    try {
      if (options.secretsFile && existsSync(options.secretsFile)) copyFileSync(options.secretsFile, join(home.root, 'secrets.json'));
      const maxMinutes = 30;
      const configFile = join(home.root, 'nightshift.config.json');
      writeFileSync(configFile, JSON.stringify(evalConfig(loaded, options.modelConfig, maxMinutes), null, 2));
      const repo = evalRepoName(task.id);
      createBareRepoFromDirectory(home.forge, repo, loaded.repoDir);
      const bare = bareRepoPath(home.forge, repo);
      const platform = await startLocalPlatform({
        home,
        configFile,
        port: 0,
        model: options.model,
        recordDir: replays,
        requester: 'local:eval',
        log: fileLog(join(options.outDir, `platform-${task.id}.log`)),
        templateCacheDir: TEMPLATE_CACHE,
        handlerLogLevel: 'SILENT',
      });
      try {
        const client = new ApiClient({ baseUrl: platform.url });
        for (let trial = 1; trial <= options.k; trial++) {
          const base = branchHead(bare, 'main');
          if (!base) throw new Error(`eval: ${repo} has no main branch`);
          const issue = task.issue ? createIssue(home.forge, repo, task.issue).number : undefined;
          const submitted = await client.submit({ repo, prompt: task.prompt, ...(issue ? { issue } : {}) }, { source: 'api' });
          const run = await untilOver(client, submitted.runId, maxMinutes * 60_000 + GRACE_MS);
          const head = run.branch ? branchHead(bare, run.branch) : undefined;
          const patch = head
            ? execFileSync('git', ['--git-dir', bare, 'diff', '--binary', '--no-color', '--no-ext-diff', base, head], {
                encoding: 'utf8',
                maxBuffer: 256 * 1024 * 1024,
              })
            : '';
          const asked = run.outcome === 'question' || run.status === 'WAITING_FOR_HUMAN';
          if (run.status === 'WAITING_FOR_HUMAN') await client.cancel(run.runId);
          const result = grade(loaded, { patch, asked });
          const replay = join(replays, `${run.runId}.jsonl`);
          writeFileSync(join(replays, `${run.runId}.patch`), patch);
          const trialResult: TrialResult = {
            taskId: task.id,
            trial,
            runId: run.runId,
            ending: `${run.status.toLowerCase()}/${run.outcome ?? run.error?.code ?? 'none'}`,
            costUsd: run.costUsd,
            tokens: run.tokens,
            ...runActivity(await allEvents(client, run.runId)),
            grade: result,
            replay: existsSync(replay) ? replay : undefined,
          };
          trials.push(trialResult);
          options.progress?.(
            `${task.id} #${trial}: ${result.resolved ? 'resolved' : 'not resolved'} (${trialResult.ending}, ${trialResult.turns} turns, $${run.costUsd.toFixed(4)})`,
          );
        }
      } finally {
        await platform.stop();
      }
    } finally {
      rmSync(home.root, { recursive: true, force: true });
    }
  }
  const report = summarize(
    options.model.startsWith('replay:')
      ? `replay (${options.model.slice('replay:'.length)})`
      : `${options.model} ${String(options.modelConfig.id ?? '')}`.trim(),
    options.k,
    trials,
  );
  writeFileSync(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The tool outputs a recorded trial's model saw (toolUseId → text), for reading a trial back. */
export function recordedOutputs(replay: string): Record<string, string> {
  return JSON.parse(readFileSync(recordedOutputsFile(replay), 'utf8')) as Record<string, string>;
}
