import type { ContentBlock, Tool } from '@aws-sdk/client-bedrock-runtime';
import { BudgetExhaustedError } from '../../core/errors';
import { budgetApprovalRequest } from '../../core/inbox/budget-approval';
import { microsToUsd } from '../../core/pricing';
import { orientation } from '../agent/orientation';
import { systemPrompt, taskMessage } from '../agent/system-prompt';
import { DEFAULT_SHELL_TIMEOUT_SECONDS } from '../tools/shell-tool';
import { DEFAULT_TEST_TIMEOUT_SECONDS } from './test-phase';
import { runnerMetricNames } from '../metrics';
import { Conversation } from '../model/conversation';
import type { ModelBudget } from '../model-budget';
import { readAgentInstructions } from '../repo/repo-settings-file';
import type { TestRunResult } from '../repo/test-results';
import { toolSpecs } from '../tools/definitions';
import type { ToolControl, ToolOutcome } from '../tools/tool-executor';
import { proposePlanToolSpec } from '../tools/plan-tool';
import { PLAN_PHASE_NOTE } from '../../core/inbox/plan-approval';
import { NOT_RUN_AFTER_PAUSE } from '../../core/inbox/risky-action';
import { gateToolCall } from './tool-gate';
import { gitViewFiles, runToolCall, type ToolUse } from './tool-call';
import { discardPlanPhaseChanges } from './plan-phase';
import { settlePendingCall } from './pending-call';
import type { ComputeMeter } from './compute-meter';
import { callModel } from './model-call';
import type { RunContext } from './run-context';
import { interruptionPause, type LoopProgress } from './interruption';
import type { AgentEnd, PauseRequest, RestoredConversation } from './loop-state';
import type { PreparedRun } from './prepared-run';
import type { FinishGate } from './finish-gate';
import { CONTEXT_RETRIES, LoopControl, modelStopMessage, retryMaxTokensFor, TEXT_ONLY_NUDGES, type LoopDecision } from './loop-control';
import { isContextWindowError } from '../model/model-errors';
import type { ModelCallResult } from './model-call';
import type { StatusProgress } from './status-progress';
import { RunFailure } from './run-errors';
import { continuedBranchDiff, type BranchDiff } from './branch-diff';
import { GitCommandError } from '../git/workspace-git';
import type { ObservedStep } from '../../core/runs/stuck';
import { StuckWatch } from './stuck-watch';

export interface AgentLoopInput {
  prepared: PreparedRun;
  budget: ModelBudget;
  meter: ComputeMeter;
  setupNotes: string[];
  baseTests: TestRunResult | undefined;
  /** Verifies a change run's `finish` (absent for a kind whose `finish` needs no verification). */
  gate?: FinishGate;
  /** A resumed run: the conversation of its pause with the answer in it, instead of the task message. */
  restored?: RestoredConversation | undefined;
  /** The GitHub status comment's running stage (a GitHub run only). */
  status: StatusProgress;
  /** Another run kind's loop (a review: runner/session/review-run.ts); absent: a change run's. */
  profile?: AgentLoopProfile;
}

/**
 * What a run kind other than `change` puts into the same loop: its system prompt, its tools, its task
 * message, and its own answer to a tool call before the shared executor runs it (its `finish`, and the
 * refusal of tools it does not offer). Such a kind never pauses: a budget that runs out ends the run.
 */
export interface AgentLoopProfile {
  system: string;
  tools: Tool[];
  task: string;
  tool(name: string, input: unknown): ToolOutcome | undefined;
}

/**
 * The model ↔ tools loop, until the agent finishes, pauses, stops calling tools, or runs out of
 * turns. A plan run (`plan: true`) starts in its plan phase (runner/session/tool-gate.ts); when the
 * loop leaves it still in that phase, whatever the shell changed is discarded. SIGTERM from outside
 * the platform ends it in an `interrupted` pause (runner/session/interruption.ts).
 */
export async function runAgentLoop(ctx: RunContext, input: AgentLoopInput): Promise<AgentEnd> {
  const phase = { planPhase: input.restored ? input.restored.planPhase : ctx.run.plan === true };
  const progress: LoopProgress = { messages: [], turn: input.restored?.turn ?? 0 };
  try {
    return await agentLoop(ctx, input, phase, progress);
  } catch (err) {
    const interrupted = interruptionPause(ctx, err, progress);
    if (interrupted) return interrupted;
    throw err;
  } finally {
    if (phase.planPhase) await discardPlanPhaseChanges(ctx, input.prepared);
  }
}

async function agentLoop(ctx: RunContext, input: AgentLoopInput, phase: { planPhase: boolean }, progress: LoopProgress): Promise<AgentEnd> {
  const { prepared, budget, meter } = input;
  const { run } = ctx;
  const model = ctx.config.model;
  const conversation = new Conversation({
    modelId: model.id,
    system:
      input.profile?.system ??
      systemPrompt({
        repo: run.repo,
        branch: prepared.repo.branch,
        baseBranch: prepared.repo.baseBranch,
        protectedPaths: prepared.rules.protectedPaths.globs,
        allowedPaths: prepared.rules.protectedPaths.allowedGlobs,
        testCommand: prepared.rules.testCommand,
        testTimeoutSeconds: ctx.withinTimeBox(prepared.rules.repoFile.testTimeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS),
        shellTimeoutSeconds: DEFAULT_SHELL_TIMEOUT_SECONDS,
        egressAllow: prepared.proxy
          ? [...ctx.config.egress.allow, ...(ctx.config.repos.find((r) => r.name === run.repo)?.egressAllow ?? [])]
          : undefined,
        agentInstructions: readAgentInstructions(prepared.layout.repo),
        repoInstructions: prepared.rules.repoFile.instructions,
      }),
    tools: input.profile?.tools ?? (run.plan === true ? [...toolSpecs(), proposePlanToolSpec()] : toolSpecs()),
    maxTokens: model.maxOutputTokens,
    contextWindowTokens: model.contextWindowTokens,
  });
  const gateRules = () => ({
    planRun: run.plan === true,
    planPhase: phase.planPhase,
    approvalRequired: prepared.rules.repoFile.approvalRequired,
  });
  progress.messages = conversation.messages;
  if (input.restored) {
    conversation.messages.push(...input.restored.messages);
    await settlePendingCall(ctx, input, conversation.messages);
  } else if (input.profile) {
    conversation.addUser([{ text: ctx.redactor.redact(input.profile.task) }]);
  } else {
    const issue = run.issue !== null ? { number: run.issue, ...(await prepared.repo.github.getIssue(run.issue)) } : undefined;
    // Setup and base-test output may hold a secret the commands had: the model never sees one.
    const orient = orientation(prepared.layout.repo, await gitViewFiles(prepared));
    if (run.branch) orient.branchDiff = await branchDiffForTask(ctx, prepared);
    const task = ctx.redactor.redact(
      taskMessage({ prompt: run.prompt, issue, setupNotes: input.setupNotes, baseTests: input.baseTests, orientation: orient }),
    );
    conversation.addUser(phase.planPhase ? [{ text: task }, { text: PLAN_PHASE_NOTE }] : [{ text: task }]);
  }
  const control = new LoopControl({
    maxTurns: model.maxTurns,
    maxTokens: model.maxOutputTokens,
    retryMaxTokens: retryMaxTokensFor(model.maxOutputTokens),
    budgetMicros: run.budgetMicros,
  });
  /** The next user message, with the limits note when the run nears its turn limit or budget. */
  const answer = (turn: number, content: ContentBlock[]) => {
    const note = control.limitsNote(turn, run.spentMicros + budget.totals.modelMicros + meter.chargedMicros);
    conversation.addUser(note ? [...content, { text: note }] : content);
  };

  /**
   * A turn that did not fit the model's window: the conversation is cut at once and the turn asked
   * again; when the retries are used up, or nothing is left to clear, the run ends with the reason.
   */
  const compactAfterOverflow = async (decision: LoopDecision, turn: number, how: string) => {
    const stop = modelStopMessage('model_context_window_exceeded');
    if (decision.action !== 'compact')
      throw new RunFailure(
        'model_context_window_exceeded',
        `${stop} (${how}) at turn ${turn}, after ${CONTEXT_RETRIES} compactions in a row; the agent did not finish`,
      );
    const cut = conversation.compactAfterOverflow();
    if (cut.clearedResults === 0 && cut.clearedInputs === 0)
      throw new RunFailure(
        'model_context_window_exceeded',
        `${stop} (${how}) at turn ${turn}; compaction found no old tool output left to clear, so the agent did not finish`,
      );
    await ctx.emit(
      'note',
      `turn ${turn} did not fit the model's context window (${how}): ${cut.clearedResults} old tool outputs and ${cut.clearedInputs} large tool inputs cleared, and the turn asked again (${decision.attempt} of ${CONTEXT_RETRIES})`,
      {
        turn,
        ...cut,
        attempt: decision.attempt,
      },
    );
  };

  const stuckWatch = new StuckWatch(prepared);
  // Turns (and so model call ids) go on across the run's tasks: a resumed run never reuses one.
  for (let turn = (input.restored?.turn ?? 0) + 1; turn <= model.maxTurns; turn++) {
    progress.turn = turn;
    ctx.checkStop();
    const compactionsBefore = conversation.compactions.length;
    const request = conversation.buildRequest(control.maxTokens);
    const cut = conversation.compactions[compactionsBefore];
    if (cut)
      await ctx.emit(
        'note',
        `conversation compacted before turn ${turn}: ${cut.clearedResults} old tool outputs and ${cut.clearedInputs} large tool inputs cleared`,
        { turn, ...cut },
      );
    const callId = `turn-${String(turn).padStart(4, '0')}`;
    let call: ModelCallResult;
    try {
      call = await callModel(ctx, budget, meter, request, conversation.estimateInputTokens(request), callId);
    } catch (err) {
      if (isContextWindowError(err)) {
        await compactAfterOverflow(control.contextOverflow(), turn, 'the provider refused the request as too long');
        continue;
      }
      // budgets.askForMore: the call that does not fit is not made; the run asks its requester instead of ending.
      if (!(err instanceof BudgetExhaustedError) || !ctx.config.budgets.askForMore || input.profile) throw err;
      const asked = budgetApprovalRequest(
        { budgetMicros: run.budgetMicros, spentMicros: Math.max(0, run.budgetMicros - err.availableMicros) },
        err.neededMicros,
      );
      return {
        kind: 'pause',
        pause: { reason: 'budget_approval', ...asked },
        state: { messages: conversation.messages, turn: turn - 1, toolUseId: null, planPhase: phase.planPhase },
      };
    }
    const { response, usage, costMicros, durationMs } = call;
    const content = response.output.message.content as ContentBlock[];
    const toolUses = content.filter((b) => b.toolUse).map((b) => b.toolUse!);
    const text = content
      .map((b) => b.text ?? '')
      .join('')
      .trim();
    ctx.trace.record({
      type: 'model_turn',
      turn,
      stopReason: response.stopReason,
      usage: { ...usage },
      costMicros,
      durationMs,
      text,
      toolUses: toolUses.map((t) => ({ name: t.name!, input: t.input })),
    });
    ctx.metrics.emit({
      [runnerMetricNames.modelCalls]: 1,
      [runnerMetricNames.modelInputTokens]: usage.input,
      [runnerMetricNames.modelOutputTokens]: usage.output,
      [runnerMetricNames.modelCacheReadTokens]: usage.cacheRead,
      [runnerMetricNames.modelCacheWriteTokens]: usage.cacheWrite,
      [runnerMetricNames.modelCostMicros]: costMicros,
    });
    await ctx.emit(
      'model_turn',
      `turn ${turn}: ${usage.input + usage.cacheRead + usage.cacheWrite} in, ${usage.output} out, $${microsToUsd(costMicros).toFixed(4)}`,
      {
        turn,
        stopReason: response.stopReason,
        tokens: usage,
        costMicros,
        tools: toolUses.map((t) => t.name),
      },
    );
    await ctx.heartbeat();
    await input.status.report(turn, run.spentMicros + budget.totals.modelMicros + meter.chargedMicros);
    const decision = control.decide(response);
    if (decision.action === 'retry') {
      // The cut-off response is dropped: the same request is asked again with room for the whole call.
      await ctx.emit('note', `turn ${turn} was cut off at the output limit; asking again with up to ${decision.maxTokens} output tokens`, {
        turn,
        maxTokens: decision.maxTokens,
      });
      continue;
    }
    if (decision.action === 'compact' || (decision.action === 'stop' && decision.reason === 'model_context_window_exceeded')) {
      // The overflowed response is dropped: the same turn is asked again over the compacted conversation.
      await compactAfterOverflow(decision, turn, 'stop reason model_context_window_exceeded');
      continue;
    }
    if (decision.action === 'stop') {
      conversation.addAssistant(content);
      throw new RunFailure(
        decision.reason,
        `${modelStopMessage(decision.reason)} (stop reason ${decision.reason}) at turn ${turn}; the agent did not finish`,
      );
    }
    if (decision.action === 'cut_off') {
      // A cut-off tool call cannot be answered: only the turn's text stays in the conversation.
      const kept = content.filter((b) => b.text);
      conversation.addAssistant(kept.length ? kept : [{ text: '(cut off)' }]);
      answer(turn, [{ text: decision.message }]);
      continue;
    }
    conversation.addAssistant(content);
    if (decision.action === 'nudge') {
      await ctx.emit('note', `turn ${turn} called no tool: the agent is asked to continue (${control.nudgesUsed} of ${TEXT_ONLY_NUDGES})`, {
        turn,
      });
      answer(turn, [{ text: decision.message }]);
      continue;
    }
    if (decision.action === 'end_turn') return { kind: 'end_turn', text };
    const results: ContentBlock[] = [];
    const steps: ObservedStep[] = [];
    let ended: ToolControl | undefined;
    let endedUseId = '';
    let paused: { pause: PauseRequest; toolUseId: string } | undefined;
    for (const raw of toolUses) {
      const use: ToolUse = { toolUseId: raw.toolUseId!, name: raw.name!, input: raw.input };
      if (ended || paused) {
        results.push({
          toolResult: {
            toolUseId: use.toolUseId,
            content: [{ text: paused ? NOT_RUN_AFTER_PAUSE : 'not run: the task already ended' }],
            status: 'error',
          },
        });
        continue;
      }
      // The plan phase and .nightshift.yml approvalRequired: refused, or a pause before the call runs.
      const gated = input.profile ? ({ kind: 'run' } as const) : gateToolCall(gateRules(), use.name, use.input);
      if (gated.kind === 'pause') {
        await ctx.emit('note', `${use.name} waits for approval (${gated.pause.reason}) before it runs`, {
          turn,
          name: use.name,
          reason: gated.pause.reason,
        });
        results.push({ toolResult: { toolUseId: use.toolUseId, content: [{ text: gated.result }], status: 'success' } });
        paused = { pause: gated.pause, toolUseId: use.toolUseId };
        continue;
      }
      const { outcome, result } = await runToolCall(ctx, input, use, turn, gated.kind === 'refuse' ? gated.text : undefined);
      results.push(result);
      steps.push({ tool: use.name, input: use.input, failed: outcome.isError, output: result.toolResult?.content?.[0]?.text ?? '' });
      ended = outcome.control;
      if (ended) endedUseId = use.toolUseId;
    }
    if (paused) {
      conversation.addUser(results);
      // The paused call's placeholder result becomes the plan to follow, the call's own result, or its refusal when the run resumes.
      return {
        kind: 'pause',
        pause: paused.pause,
        state: { messages: conversation.messages, turn, toolUseId: paused.toolUseId, planPhase: phase.planPhase },
      };
    }
    if (ended?.kind === 'finish') {
      conversation.addUser(results);
      return { kind: 'control', control: ended };
    }
    if (ended?.kind === 'ask_human') {
      conversation.addUser(results);
      // The pause's tool result becomes the human's answer when the run resumes.
      return {
        kind: 'pause',
        pause: { reason: 'question', message: ended.question, details: { question: ended.question } },
        state: { messages: conversation.messages, turn, toolUseId: endedUseId, planPhase: phase.planPhase },
      };
    }
    // The same failing step again and again, or no change for many turns: ask for a hint between turns.
    const stuck = await ctx.withHeartbeats(() => stuckWatch.observe(turn, steps));
    if (stuck) {
      conversation.addUser(results);
      return {
        kind: 'pause',
        pause: { reason: 'stuck', message: stuck.message, details: stuck.details },
        state: { messages: conversation.messages, turn, toolUseId: null, planPhase: phase.planPhase },
      };
    }
    answer(turn, results);
  }
  return { kind: 'turn_limit' };
}

/** A continued branch's changes against its base; a fetch that fails is said in the message, not fatal. */
async function branchDiffForTask(ctx: RunContext, prepared: PreparedRun): Promise<BranchDiff> {
  const { repo } = prepared;
  try {
    const diff = await ctx.withHeartbeats(() => continuedBranchDiff(repo.git, repo.branch, repo.baseBranch));
    await ctx.emit(
      'note',
      `continued branch ${repo.branch}: its changes against ${diff.base} are in the task message (${diff.text.length} characters)`,
      { base: diff.base },
    );
    return diff;
  } catch (err) {
    if (!(err instanceof GitCommandError)) throw err;
    const why = ctx.redactor.redact(err.message);
    await ctx.emit('note', `continued branch ${repo.branch}: its diff against ${repo.baseBranch} could not be computed (${why})`, {});
    return { base: repo.baseBranch, text: `(could not be computed: ${why})` };
  }
}

export { gitViewFiles };
