import type { ContentBlock } from '@aws-sdk/client-bedrock-runtime';
import { join } from 'node:path';
import { runnerMetricNames } from '../metrics';
import { refused } from '../tools/tool-context';
import { executeTool, type ToolOutcome } from '../tools/tool-executor';
import type { FinishGate } from './finish-gate';
import type { RunContext } from './run-context';
import { Interrupted } from './run-errors';
import { announceToolStart } from './tool-start';
import type { PreparedRun } from './prepared-run';

export interface ToolUse {
  toolUseId: string;
  name: string;
  input: unknown;
}

/**
 * One tool call of the agent, as the timeline, trace and metrics show it: announced, run (or refused
 * with `refusal`, a refusal of the runner's gate), `finish` reviewed by the finish gate, and its
 * result block redacted for the conversation. A call the runner's stop interrupted throws.
 */
export async function runToolCall(
  ctx: RunContext,
  run: {
    prepared: PreparedRun;
    gate?: FinishGate | undefined;
    profile?: { tool(name: string, input: unknown): ToolOutcome | undefined } | undefined;
  },
  use: ToolUse,
  turn: number,
  refusal?: string,
): Promise<{ outcome: ToolOutcome; result: ContentBlock }> {
  const { prepared } = run;
  await announceToolStart(ctx, { name: use.name, input: use.input, turn });
  // Another run kind answers some calls itself (a review's finish, the tools it does not offer).
  let outcome =
    refusal !== undefined
      ? refused(refusal, Date.now())
      : (run.profile?.tool(use.name, use.input) ??
        (await executeTool(use.name, use.input, {
          repoRoot: prepared.layout.repo,
          protectedPaths: prepared.rules.protectedPaths,
          identity: prepared.identity,
          env: prepared.toolEnv,
          signal: ctx.deps.stop,
          outputDir: join(prepared.layout.root, 'tool-output'),
          gitFiles: () => gitViewFiles(prepared),
        })));
  if (outcome.control?.kind === 'finish' && run.gate) {
    const verdict = await run.gate.review(outcome.control.summary);
    const { control: finish, ...rest } = outcome;
    outcome = verdict.accepted ? { ...rest, text: verdict.text, control: finish } : { ...rest, text: verdict.text, isError: true };
  }
  ctx.trace.record({
    type: 'tool_call',
    turn,
    name: use.name,
    input: use.input,
    durationMs: outcome.durationMs,
    exitCode: outcome.exitCode,
    isError: outcome.isError,
    output: outcome.text,
  });
  ctx.metrics.emit({ [runnerMetricNames.toolCalls]: 1, ...(outcome.isError ? { [runnerMetricNames.toolFailures]: 1 } : {}) });
  await ctx.emit(
    'tool_call',
    `${use.name}${outcome.exitCode !== null ? ` → exit ${outcome.exitCode}` : outcome.isError ? ' → refused' : ''} (${(outcome.durationMs / 1000).toFixed(1)} s)`,
    {
      turn,
      name: use.name,
      input: summarizeInput(use.input),
      exitCode: outcome.exitCode,
      isError: outcome.isError,
      timedOut: outcome.timedOut,
      durationMs: outcome.durationMs,
      output: outcome.text.slice(0, 2_000),
    },
  );
  if (outcome.aborted) throw new Interrupted('stopped during a tool command');
  await ctx.heartbeat();
  // Redacted before it enters the conversation: a tool may print a file a setup command wrote with a secret in it.
  const result: ContentBlock = {
    toolResult: {
      toolUseId: use.toolUseId,
      content: [{ text: ctx.redactor.redact(outcome.text) }],
      status: outcome.isError ? 'error' : 'success',
    },
  };
  return { outcome, result };
}

function summarizeInput(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  return Object.fromEntries(
    Object.entries(input).map(([k, v]) => [k, typeof v === 'string' && v.length > 500 ? `${v.slice(0, 500)}…` : v]),
  );
}

/** Files tracked or untracked and not ignored (the runner's git reads its own git directory; the tools cannot). */
export async function gitViewFiles(prepared: PreparedRun): Promise<string[]> {
  const out = await prepared.repo.git.run(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate']);
  return out.split('\0').filter((f) => f !== '');
}
