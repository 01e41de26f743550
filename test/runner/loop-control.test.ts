import type { Message } from '@aws-sdk/client-bedrock-runtime';
import { parseConfig } from '../../core/config/load';
import { usdToMicros } from '../../core/pricing';
import { branchHead, branchLog, fileAt, listPulls } from '../../local/forge';
import { ModelCallError } from '../../runner/model/model-errors';
import type { ModelProvider, ModelRequest } from '../../runner/model/provider';
import { ReplayProvider } from '../../runner/model/replay-provider';
import { CONTEXT_RETRIES, CONTINUE_MESSAGE, LoopControl, retryMaxTokensFor } from '../../runner/session/loop-control';
import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

const reply = (
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens' | 'guardrail_intervened' | 'content_filtered' | 'model_context_window_exceeded',
  tools = false,
) => ({
  stopReason,
  output: {
    message: {
      role: 'assistant' as const,
      content: tools ? [{ toolUse: { toolUseId: 't', name: 'shell', input: { command: 'true' } } }] : [{ text: 'thinking' }],
    },
  },
});

describe('loop control decisions', () => {
  const options = { maxTurns: 50, maxTokens: 1_000, retryMaxTokens: 4_000, budgetMicros: usdToMicros(2) };

  it('Given text-only turns, When each is decided, Then the first two are nudged and the third ends; a turn with tools resets nothing', () => {
    const control = new LoopControl(options);
    expect(control.decide(reply('end_turn'))).toEqual({ action: 'nudge', message: CONTINUE_MESSAGE });
    expect(control.decide(reply('tool_use', true))).toEqual({ action: 'tools' });
    expect(control.decide(reply('end_turn'))).toEqual({ action: 'nudge', message: CONTINUE_MESSAGE });
    expect(control.decide(reply('end_turn'))).toEqual({ action: 'end_turn' });
  });

  it('Given a cut-off call, When it is decided, Then it is retried once with the larger limit, then the model is told to work in smaller pieces', () => {
    const control = new LoopControl(options);
    expect(control.decide(reply('max_tokens', true))).toEqual({ action: 'retry', maxTokens: 4_000 });
    expect(control.maxTokens).toBe(4_000);
    const second = control.decide(reply('max_tokens', true));
    expect(second).toMatchObject({ action: 'cut_off', message: expect.stringContaining('(4000 tokens)') });
    // the raised limit is for the retry only
    expect(control.maxTokens).toBe(1_000);
    expect(control.decide(reply('max_tokens'))).toEqual({ action: 'retry', maxTokens: 4_000 });
    expect(control.decide(reply('tool_use', true))).toEqual({ action: 'tools' });
    expect(control.maxTokens).toBe(1_000);
  });

  it('Given a guardrail or content filter stop, even with tool calls in the turn, When it is decided, Then the loop stops', () => {
    for (const reason of ['guardrail_intervened', 'content_filtered'] as const) {
      expect(new LoopControl(options).decide(reply(reason, true))).toEqual({ action: 'stop', reason });
    }
  });

  it('Given context-window overflows, When they are decided, Then each is compacted and retried at most CONTEXT_RETRIES times in a row, then the loop stops', () => {
    const control = new LoopControl(options);
    expect(control.decide(reply('model_context_window_exceeded', true))).toEqual({ action: 'compact', attempt: 1 });
    // a turn that fits resets the count
    expect(control.decide(reply('tool_use', true))).toEqual({ action: 'tools' });
    expect(control.decide(reply('model_context_window_exceeded'))).toEqual({ action: 'compact', attempt: 1 });
    // the provider refusing the request as too long counts the same
    expect(control.contextOverflow()).toEqual({ action: 'compact', attempt: CONTEXT_RETRIES });
    expect(control.decide(reply('model_context_window_exceeded'))).toEqual({ action: 'stop', reason: 'model_context_window_exceeded' });
  });

  it('Given turns and spend, When the limits note is asked for, Then the model is told its turns and budget only when it nears either', () => {
    const control = new LoopControl(options);
    expect(control.limitsNote(10, usdToMicros(0.5))).toBeUndefined();
    expect(control.limitsNote(40, usdToMicros(0.5))).toBe(
      '[runner] 10 model turns left of 50; $1.50 of the $2.00 budget left. Wrap up: make sure the change is complete and verified, then call `finish` (what is not done goes into its risks).',
    );
    expect(control.limitsNote(10, usdToMicros(1.7))).toContain('40 model turns left of 50; $0.30 of the $2.00 budget left');
    expect(new LoopControl({ ...options, maxTurns: 5 }).limitsNote(4, 0)).toContain('1 model turn left of 5;');
  });

  it('Given an output limit, When the retry limit is raised, Then it stays within what the models allow', () => {
    expect(retryMaxTokensFor(1_024)).toBe(4_096);
    expect(retryMaxTokensFor(32_000)).toBe(64_000);
    expect(retryMaxTokensFor(100_000)).toBe(100_000);
  });
});

describe('scripted sessions through each control path', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  const lastUserText = (request: unknown) => {
    const messages = (request as ModelRequest).messages as Message[];
    const last = messages[messages.length - 1]!;
    expect(last.role).toBe('user');
    return (last.content ?? [])
      .filter((b) => !b.cachePoint)
      .map((b) => b.text ?? b.toolResult?.content?.map((c) => c.text).join('') ?? '')
      .join('\n');
  };

  it('Given a scripted text-only turn, When the session runs, Then it is answered with a continue message and goes on to finish', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('text-only-turn')).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    expect(provider.requests).toHaveLength(3);
    expect(lastUserText(provider.requests[2])).toBe(CONTINUE_MESSAGE);
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    expect(events.filter((e) => e.type === 'note' && e.message.includes('called no tool'))).toHaveLength(1);
  });

  it('Given three scripted text-only turns, When the session runs, Then it ends after the third without another call', async () => {
    const run = await h.createRun({ prompt: 'Think about add' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('text-only-thrice')).done;
    // exactly three calls: a fourth would exhaust the recording and fail the run
    expect(provider.requests).toHaveLength(3);
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'no_changes', summary: 'I believe the task is done.' } });
  });

  it('Given a cut-off tool call, When the session runs, Then it is asked again with more output tokens and the same conversation, and the normal limit after', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('truncated-tool-call')).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    const [first, retry, after] = provider.requests as ModelRequest[];
    expect(first!.inferenceConfig?.maxTokens).toBe(1_024);
    expect(retry!.inferenceConfig?.maxTokens).toBe(4_096);
    expect(retry!.messages).toEqual(first!.messages);
    expect(after!.inferenceConfig?.maxTokens).toBe(1_024);
    const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === (end as { result: { branch: string } }).result.branch)!;
    expect(fileAt(h.bare, pr.head, 'src/add.js')).toContain('return a + b;');
    // the retry was reserved at its larger limit: the run still spent only what the transcript says
    const stored = (await h.db.store.runs.get(run.runId))!;
    expect(stored.tokens.output).toBe(1_024 + 60 + 60);
  });

  it('Given a guardrail stop, When the session runs, Then work in progress is pushed and the run fails with the reason, with no pull request', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const pullsBefore = listPulls(h.forgeRoot, 'demo/sample-app').length;
    const { end, callbacks } = await startInProcessRun(h, run.runId, session('guardrail-stop')).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    const cause = (end as { cause: string }).cause;
    expect(cause).toMatch(
      /^guardrail_intervened: the model provider’s guardrail stopped the response .* work in progress pushed to nightshift\//,
    );
    expect(callbacks.successes).toEqual([]);
    expect(listPulls(h.forgeRoot, 'demo/sample-app')).toHaveLength(pullsBefore);
    const branch = cause.match(/pushed to (\S+)$/)![1]!;
    expect(branchLog(h.bare, branch, '%s')[0]).toMatch(/^WIP: /);
    expect(fileAt(h.bare, branch, 'src/add.js')).toContain('return a + b;');
  });

  it('Given a context overflow, When the session runs, Then the conversation is compacted, the turn asked again and the run finishes', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end, provider } = await startInProcessRun(h, run.runId, session('context-overflow-compacted')).done;
    // Without compact-and-retry the run failed at turn 4 with the work pushed as WIP.
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    const requests = provider.requests as ModelRequest[];
    expect(requests).toHaveLength(6);
    const [overflowed, retried] = [requests[3]!, requests[4]!];
    // the overflowed response was dropped: the retry asks the same turn, over the compacted conversation
    expect(retried.messages).toHaveLength(overflowed.messages!.length);
    const resultText = (request: ModelRequest, id: string) =>
      request.messages!.flatMap((m) => m.content ?? []).find((b) => b.toolResult?.toolUseId === id)!.toolResult!.content![0]!.text;
    expect(resultText(overflowed, 'tooluse_01')).toContain('return a - b;');
    expect(resultText(retried, 'tooluse_01')).toBe(
      '[output of read_file path="src/add.js" cleared by the runner to keep the conversation inside the model window; run it again if you need it]',
    );
    // every tool use still has its result (the replay provider checked each request against the Converse rules)
    expect(retried.messages!.flatMap((m) => m.content ?? []).filter((b) => b.toolUse).length).toBe(
      retried.messages!.flatMap((m) => m.content ?? []).filter((b) => b.toolResult).length,
    );
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    expect(events.filter((e) => e.type === 'note' && e.message.includes('did not fit the model')).map((e) => e.message)).toEqual([
      "turn 4 did not fit the model's context window (stop reason model_context_window_exceeded): 1 old tool outputs and 0 large tool inputs cleared, and the turn asked again (1 of 2)",
    ]);
  });

  it('Given the provider refusing a request as too long, When the session runs, Then it compacts and asks again, without billing the refusal', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    // The fourth call is refused by the provider (as Anthropic answers a prompt that is too long); the
    // recording's overflowed line is skipped with it, and the run goes on from the fifth.
    const replay = new ReplayProvider(session('context-overflow-compacted'));
    let calls = 0;
    const refusing: ModelProvider = {
      kind: 'anthropic',
      description: 'refuses the fourth call as too long',
      converse: async (request, signal) => {
        const response = await replay.converse(request, signal);
        calls += 1;
        if (calls === 4)
          throw new ModelCallError('anthropic', 'context_window', 'prompt is too long: 210000 tokens > 200000 maximum', false, 400);
        return response;
      },
    };
    const { end } = await startInProcessRun(h, run.runId, session('context-overflow-compacted'), { deps: { model: refusing } }).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    expect(events.filter((e) => e.type === 'note' && e.message.includes('did not fit the model')).map((e) => e.message)).toEqual([
      "turn 4 did not fit the model's context window (the provider refused the request as too long): 1 old tool outputs and 0 large tool inputs cleared, and the turn asked again (1 of 2)",
    ]);
    // the refused call was released, not charged: the run spent what the five answered calls cost
    const stored = (await h.db.store.runs.get(run.runId))!;
    expect(stored.tokens.output).toBe(80 + 40 + 60 + 40 + 60);
  });

  it('Given every retry overflowing again, When the session runs, Then it ends after exactly two compactions in a row, billing only the answered turns', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    // Twelve turns of long shell output fill the conversation; from the thirteenth call on every request
    // is refused as too long. The first cut stops at half the window with old output left, the second
    // clears more, so the bound is what stops the run, not an empty compaction.
    const turns = 12;
    const longOutput = "node -e \"for (let i = 0; i < 4000; i++) console.log('line ' + i + ' of a long build log')\"";
    let calls = 0;
    const scripted: ModelProvider = {
      kind: 'anthropic',
      description: 'long shell turns, then refuses every request as too long',
      converse: async () => {
        calls += 1;
        if (calls > turns)
          throw new ModelCallError('anthropic', 'context_window', 'prompt is too long: 210000 tokens > 200000 maximum', false, 400);
        return {
          output: {
            message: {
              role: 'assistant',
              content: [{ toolUse: { toolUseId: `tooluse_${calls}`, name: 'shell', input: { command: longOutput } } }],
            },
          },
          stopReason: 'tool_use',
          usage: { inputTokens: 1000, outputTokens: 10, totalTokens: 1010, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 },
          metrics: { latencyMs: 1 },
          $metadata: {},
        };
      },
    };
    const { end } = await startInProcessRun(h, run.runId, session('context-overflow-compacted'), { deps: { model: scripted } }).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    const { events } = await h.db.store.events.list(run.runId, { limit: 300 });
    const retries = events.filter((e) => e.type === 'note' && e.message.includes('did not fit the model')).map((e) => e.message);
    expect(retries).toHaveLength(CONTEXT_RETRIES);
    for (const [i, message] of retries.entries())
      expect(message).toMatch(
        new RegExp(
          `^turn ${turns + 1 + i} did not fit .*: [1-9]\\d* old tool outputs .* the turn asked again \\(${i + 1} of ${CONTEXT_RETRIES}\\)$`,
        ),
      );
    expect((end as { cause: string }).cause).toMatch(
      new RegExp(
        `^model_context_window_exceeded: .* at turn ${turns + 1 + CONTEXT_RETRIES}, after ${CONTEXT_RETRIES} compactions in a row; the agent did not finish`,
      ),
    );
    expect(calls).toBe(turns + CONTEXT_RETRIES + 1);
    // The refused calls were released, not charged: only the answered turns were billed.
    expect((await h.db.store.runs.get(run.runId))!.tokens.output).toBe(turns * 10);
  });

  it('Given a context overflow with nothing left to compact, When the session runs, Then work in progress is pushed and the run fails with the reason', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { end } = await startInProcessRun(h, run.runId, session('context-overflow')).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    const cause = (end as { cause: string }).cause;
    expect(cause).toMatch(
      /^model_context_window_exceeded: the conversation no longer fits the model’s context window .* at turn 2; compaction found no old tool output left to clear, .*work in progress pushed to nightshift\//,
    );
    const branch = cause.match(/pushed to (\S+)$/)![1]!;
    expect(fileAt(h.bare, branch, 'src/add.js')).toContain('return a + b;');
  });

  it('Given a first finish with a regression and scratch, When the session runs, Then it goes back to the agent, the second is accepted, and the PR reports honestly', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const baseBefore = branchHead(h.bare, 'main');
    const { end, provider } = await startInProcessRun(h, run.runId, session('finish-regression')).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    expect(provider.requests).toHaveLength(5);

    // the gate's answer to the first finish: the delta, the scratch file, the diff stat and what to do
    const gate = lastUserText(provider.requests[4]);
    expect(gate).toMatch(/^Not finished yet: 1 test newly failing; 1 new file that looks like scratch\./);
    expect(gate).toContain('Tests (`npm test`): 1 passed, 1 failed at base → 1 passed, 1 failed at head.');
    expect(gate).toContain('Newly failing:\n- greet says hello');
    expect(gate).toContain('Newly passing:\n- add adds two numbers');
    expect(gate).toContain('New files:\n- debug.log');
    expect(gate).toMatch(/Diff stat \(tracked files\):\n src\/add\.js\s+\| 2 \+-\n src\/greet\.js \| 2 \+-\n 2 files changed/);
    expect(gate).toContain('Then call `finish` again.');

    // the second finish is accepted: the PR shows the regression; the scratch file is not committed
    const branch = (end as { result: { branch: string } }).result.branch;
    const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === branch)!;
    expect(pr.body).toMatch(/\*\*Newly failing\*\*\n- `greet says hello`/);
    expect(pr.body).toContain('The greet test fails: its expectation needs a decision.');
    expect(pr.body).toContain('The agent finished after the finish gate reported 1 newly failing test(s).');
    expect(() => fileAt(h.bare, branch, 'debug.log')).toThrow();
    expect(branchLog(h.bare, branch, '%H')[1]).toBe(baseBefore);

    // the tests ran at base, at the first finish (and its flake re-run), and not again: nothing changed after
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    expect(events.filter((e) => e.type === 'test_result').map((e) => e.detail?.phase)).toEqual(['base', 'head', 'head']);
  });

  it('Given a run near its turn limit, When the session runs, Then the model is told its remaining turns', async () => {
    const base = testConfig(runnerFixture());
    const config = parseConfig({ ...base, model: { ...base.model, maxTurns: 4 } });
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const { provider } = await startInProcessRun(h, run.runId, session('text-only-turn'), { config }).done;
    expect(lastUserText(provider.requests[1])).toContain('[runner] 3 model turns left of 4;');
  });
});
