import { Command, Option } from 'commander';
import { positiveInteger, positiveNumber } from './option-values';
import { isConfigError } from '../core/config/load';
import { isTerminal } from '../core/runs/lifecycle';
import type { RunView, SubmitRunRequest } from '../core/runs/schemas';
import { ApiError } from './api-client';
import { registerConsoleCommand } from './commands/console';
import { registerForgeCommand } from './commands/forge';
import { pauseNotice, pauseNoticeText, registerInboxCommands } from './commands/inbox';
import { registerIntakeCommand } from './commands/intake';
import { registerPullRequestCommand } from './commands/pull-request';
import { apiClientFor } from './api-target';
import { exitCodeOfStatus, exitCodes } from './exit-codes';
import { EventReader, followRun } from './follow-run';
import { eventLine, runDetail, runsTable } from './format';
import { runProgress } from './progress';
import { readPromptArgument, readStandardInput } from './prompt-source';
import type { CliIo } from './cli-io';

// Local mode is loaded only by the commands that run it. require, not import(): under tsx's CommonJS
// hooks a dynamic import() goes to Node's ESM loader, which cannot load TypeScript.
const loadDev = () => require('./dev') as typeof import('./dev');
const loadDemo = () => require('../local/demo') as typeof import('../local/demo');

/** What a command hands back: the process exit code. */
type CommandResult = number;

export type { CliIo };

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface GlobalOptions {
  api?: string;
  json?: boolean;
}

/**
 * The `nightshift` command line (docs/cli.md). `run` resolves to the exit code instead of exiting, so the
 * program can be driven in-process as well as from bin/nightshift.js.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const program = new Command('nightshift')
    .description('Background coding agents on your own AWS account, or on this machine in local mode.')
    .version('0.1.0')
    .addOption(new Option('--api <url>', 'API of a deployed stack (default: local mode on PORT or 8787)').env('NIGHTSHIFT_API'))
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<CommandResult>) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };

  program
    .command('dev')
    .description('run the local platform (API on 127.0.0.1:PORT, default 8787)')
    .addOption(
      new Option('--record <dir>', "record every run's model responses (redacted, replay format) to <dir>/<runId>.jsonl").env(
        'NIGHTSHIFT_RECORD',
      ),
    )
    .action(
      action(async (options: { record?: string }) => {
        const { runDev } = loadDev();
        return runDev({ json: globals().json ?? false, io, ...(options.record ? { record: options.record } : {}) });
      }),
    );

  program
    .command('demo')
    .description('start local mode, submit a recorded run against a sample repository, print the draft PR')
    .action(
      action(async () => {
        const { runDemo } = loadDemo();
        return runDemo({ json: globals().json ?? false, out: io.out, err: io.err });
      }),
    );

  program
    .command('submit')
    .description('submit a run')
    .argument('<repo>', 'owner/name, one of the configured repos')
    .argument('<prompt>', 'what the agent should do; "-" reads it from standard input, "@file" from a file')
    .option('--base-branch <branch>', 'branch to start from (default: the repository default)')
    .option('--branch <branch>', 'continue an existing branch')
    .option('--issue <number>', 'the GitHub issue the run is about', positiveInteger)
    .option('--budget <usd>', 'budget of the run in USD', positiveNumber)
    .option('--max-minutes <minutes>', 'wall-clock limit of the run', positiveInteger)
    .option('--label <label>', 'a label (repeatable)', collect)
    .option('--review <pr>', 'a review run (kind review): read pull request <pr>, push nothing, post one COMMENT review', positiveInteger)
    .option('--plan', 'explore first and propose a plan that waits in the inbox for approval (plan_approval) before any edit')
    // The values are RunPriority's (core/runs/schemas.ts); commander refuses any other.
    .addOption(
      new Option('--priority <priority>', 'queue priority: high runs start before normal ones, normal before low (default normal)').choices(
        ['high', 'normal', 'low'],
      ),
    )
    .option('--idempotency-key <key>', 'the same key and body return the same run')
    .option('--wait', 'follow the run until it ends (a pause shows how to answer it); the exit code follows its outcome')
    .action(
      action(
        async (
          repo: string,
          prompt: string,
          opts: {
            baseBranch?: string;
            branch?: string;
            issue?: number;
            budget?: number;
            maxMinutes?: number;
            label?: string[];
            review?: number;
            plan?: boolean;
            priority?: SubmitRunRequest['priority'];
            idempotencyKey?: string;
            wait?: boolean;
          },
        ) => {
          const client = await apiClientFor(globals());
          const request: SubmitRunRequest = {
            repo,
            prompt: await readPromptArgument(prompt, { readStdin: () => readStandardInput() }),
            ...(opts.baseBranch ? { baseBranch: opts.baseBranch } : {}),
            ...(opts.branch ? { branch: opts.branch } : {}),
            ...(opts.issue ? { issue: opts.issue } : {}),
            ...(opts.budget ? { budgetUsd: opts.budget } : {}),
            ...(opts.maxMinutes ? { maxMinutes: opts.maxMinutes } : {}),
            ...(opts.label ? { labels: opts.label } : {}),
            ...(opts.review ? { kind: 'review' as const, pr: opts.review } : {}),
            ...(opts.plan ? { plan: true } : {}),
            ...(opts.priority ? { priority: opts.priority } : {}),
          };
          const submitted = await client.submit(request, {
            source: 'cli',
            ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
          });
          if (!opts.wait) {
            if (globals().json) io.out(JSON.stringify(submitted));
            else io.out(`${submitted.runId} ${submitted.status}`);
            return exitCodes.ok;
          }
          if (!globals().json) io.err(`submitted ${submitted.runId}`);
          const final = await waitForRun(submitted.runId, globals().json ?? false);
          return final;
        },
      ),
    );

  async function waitForRun(runId: string, json: boolean): Promise<number> {
    const client = await apiClientFor(globals());
    const progress = json ? undefined : await runProgress({ label: runId });
    let lastTurns = 0;
    const run = await followRun(client, runId, {
      onProgress: (r, turns, activity) => {
        lastTurns = turns;
        progress?.update(r, turns, activity);
      },
      // A pause says what it waits for and how to resolve it; the run is followed on through the answer.
      onEvent: (event) => {
        const notice = pauseNotice(event);
        if (!notice) return;
        if (json) io.err(JSON.stringify({ paused: notice }));
        else if (progress) progress.note(pauseNoticeText(notice));
        else io.err(pauseNoticeText(notice));
      },
    });
    progress?.finish(run, lastTurns);
    if (json) io.out(JSON.stringify(run));
    else io.out(finalLine(run));
    return exitCodeOfStatus(run.status);
  }

  program
    .command('status')
    .description('show a run')
    .argument('<runId>')
    .action(
      action(async (runId: string) => {
        const run = await (await apiClientFor(globals())).getRun(runId);
        io.out(globals().json ? JSON.stringify(run) : runDetail(run));
        return exitCodes.ok;
      }),
    );

  program
    .command('runs')
    .description('list runs, newest first')
    .option('--status <status>', 'only runs in this status')
    .option('--repo <repo>', 'only runs of this repository')
    .option('--requester <requester>', 'only runs of this requester')
    .option('--limit <n>', 'at most this many (≤ 100)', positiveInteger)
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(
      action(async (opts: { status?: string; repo?: string; requester?: string; limit?: number; cursor?: string }) => {
        const page = await (await apiClientFor(globals())).listRuns(opts);
        if (globals().json) io.out(JSON.stringify(page));
        else {
          io.out(runsTable(page.runs));
          if (page.nextCursor) io.out(`more: nightshift runs --cursor ${page.nextCursor}`);
        }
        return exitCodes.ok;
      }),
    );

  program
    .command('logs')
    .description("print a run's timeline: status changes, model turns, tool calls, tests")
    .argument('<runId>')
    .option('-f, --follow', 'keep printing until the run ends')
    .action(
      action(async (runId: string, opts: { follow?: boolean }) => {
        const client = await apiClientFor(globals());
        const print = (event: Parameters<typeof eventLine>[0]) => io.out(globals().json ? JSON.stringify(event) : eventLine(event));
        if (opts.follow) {
          const run = await followRun(client, runId, { onEvent: print });
          if (!globals().json) io.err(finalLine(run));
          return exitCodes.ok;
        }
        await client.getRun(runId);
        for (const event of await new EventReader(client, runId).readNew()) print(event);
        return exitCodes.ok;
      }),
    );

  program
    .command('cancel')
    .description('cancel a run: a queued run never starts, a running one is stopped')
    .argument('<runId>')
    .action(
      action(async (runId: string) => {
        const client = await apiClientFor(globals());
        const answer = await client.cancel(runId);
        io.out(globals().json ? JSON.stringify(answer) : `cancel requested for ${runId}`);
        return exitCodes.ok;
      }),
    );

  registerInboxCommands(program, {
    client: () => apiClientFor(globals()),
    out: io.out,
    json: () => globals().json ?? false,
    done: (code) => {
      exitCode = code;
    },
  });

  const done = (code: number) => {
    exitCode = code;
  };
  // The API-backed commands registered from their own modules share one context.
  const apiCommand = { client: () => apiClientFor(globals()), out: io.out, json: () => globals().json ?? false, done };
  registerIntakeCommand(program, apiCommand);
  registerPullRequestCommand(program, apiCommand);
  registerConsoleCommand(program, { api: () => globals().api, out: io.out, err: io.err, done });
  registerForgeCommand(program, { out: io.out, done });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io, globals().json ?? false);
  }
}

function finalLine(run: RunView): string {
  const parts = [`${run.runId} ${run.status}`];
  if (run.outcome) parts.push(`outcome ${run.outcome}`);
  if (run.prUrl) parts.push(`pull request ${run.prUrl}`);
  if (run.error) parts.push(`${run.error.code}: ${run.error.message}`);
  if (!isTerminal(run.status)) parts.push('(not finished)');
  return parts.join(' · ');
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  const commanderCode = (error as { code?: string }).code;
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    // Help and version exit 0; usage errors were already printed by commander.
    return commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version' || commanderCode === 'commander.help'
      ? exitCodes.ok
      : exitCodes.error;
  }
  if (error instanceof ApiError) {
    if (json)
      io.err(
        JSON.stringify({
          error: { code: error.code, message: error.message, status: error.status, details: error.details, requestId: error.requestId },
        }),
      );
    else io.err(`error: ${error.message}`);
    return exitCodes.error;
  }
  if (isConfigError(error)) {
    // Every bad field, each with its path, as synth lists them.
    if (json)
      io.err(
        JSON.stringify({
          error: { code: 'invalid_config', message: `invalid Nightshift configuration in ${error.source}`, details: error.problems },
        }),
      );
    else io.err(`error: ${error.message}`);
    return exitCodes.error;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(json ? JSON.stringify({ error: { code: 'cli_error', message } }) : `error: ${message.split('\n')[0]}`);
  return exitCodes.error;
}
