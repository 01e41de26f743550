import { evalModelChoice, NO_PROVIDER_MESSAGE } from '../../eval/run';
import { passAtK, summarize, type TrialResult } from '../../eval/report';
import { runActivity } from '../../eval/harness';
import type { RunEvent } from '../../core/runs/schemas';

const trial = (taskId: string, resolved: boolean, extra: Partial<TrialResult> = {}): TrialResult => ({
  taskId,
  trial: 1,
  runId: 'r',
  ending: resolved ? 'succeeded/pr_opened' : 'failed/model_context_window_exceeded',
  costUsd: 0.5,
  tokens: { input: 100, output: 10, cacheRead: 300, cacheWrite: 100 },
  turns: 10,
  toolCalls: 8,
  toolErrors: 2,
  edits: 4,
  editFailures: 1,
  compactions: 0,
  grade: {
    taskId,
    resolved,
    applied: true,
    failToPass: {},
    passToPass: {},
    touchedForbidden: [],
    reasons: resolved ? [] : ['x'],
    outputTail: '',
  },
  replay: undefined,
  ...extra,
});

describe('the eval report', () => {
  it('Given n trials with c resolved, When pass@k is estimated, Then it is the unbiased estimate (Chen et al.) and k above n is refused', () => {
    expect(passAtK(3, 0, 1)).toBe(0);
    expect(passAtK(3, 3, 1)).toBe(1);
    expect(passAtK(3, 1, 1)).toBeCloseTo(1 / 3);
    // one of three resolved: two drawn miss it with chance C(2,2)/C(3,2) = 1/3
    expect(passAtK(3, 1, 2)).toBeCloseTo(2 / 3);
    expect(passAtK(5, 2, 3)).toBeCloseTo(1 - 1 / 10);
    expect(() => passAtK(2, 1, 3)).toThrow(/0 < k <= n/);
  });

  it('Given graded trials, When they are summarized, Then the report holds their rates, cost, cache share and endings, and no trials are refused', () => {
    const report = summarize('anthropic m', 2, [
      trial('a', true),
      trial('a', false),
      trial('b', false, { toolErrors: 0, editFailures: 0 }),
      trial('b', false),
    ]);
    expect(report.resolveRate).toBe(0.25);
    expect(report.tasks).toEqual([
      { taskId: 'a', trials: 2, resolved: 1, passAt1: 0.5, passAtK: 1 },
      { taskId: 'b', trials: 2, resolved: 0, passAt1: 0, passAtK: 0 },
    ]);
    expect(report.passAt1).toBe(0.25);
    expect(report.passAtK).toBe(0.5);
    expect(report.costUsd).toBe(2);
    expect(report.cacheReadShare).toBe(0.6);
    expect(report.toolErrorRate).toBe(6 / 32);
    expect(report.editFailureRate).toBe(3 / 16);
    expect(report.endings).toEqual({ 'succeeded/pr_opened': 1, 'failed/model_context_window_exceeded': 3 });
    expect(() => summarize('m', 1, [])).toThrow(/no trials/);
  });

  it("Given a run's events, When its activity is read, Then turns, tool failures, edits and compactions are counted (setup commands are not tool calls)", () => {
    const event = (type: RunEvent['type'], message: string, detail?: Record<string, unknown>): RunEvent => ({
      runId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      seq: '1',
      at: '2026-12-02T00:00:00Z',
      type,
      message,
      ...(detail ? { detail } : {}),
    });
    expect(
      runActivity([
        event('tool_call', 'setup: npm ci', { name: 'setup', isError: true }),
        event('model_turn', 'turn 1'),
        event('tool_call', 'edit_file → refused', { name: 'edit_file', isError: true }),
        event('tool_call', 'edit_file', { name: 'edit_file', isError: false }),
        event('model_turn', 'turn 2'),
        event('tool_call', 'shell → exit 1', { name: 'shell', isError: false }),
        event('note', 'conversation compacted before turn 3: 4 old tool outputs and 0 large tool inputs cleared'),
        event('note', "turn 4 did not fit the model's context window (stop reason model_context_window_exceeded): …"),
      ]),
    ).toEqual({ turns: 2, toolCalls: 3, toolErrors: 1, edits: 2, editFailures: 1, compactions: 2 });
  });
});

describe('the eval model choice', () => {
  it('Given no provider credentials and no replay, When the eval model is chosen, Then the error says clearly no provider is configured and points at docs/eval.md', () => {
    const env = { NIGHTSHIFT_CONFIG: `${__dirname}/../../nightshift.config.json` };
    expect(evalModelChoice(env, undefined)).toEqual({ error: NO_PROVIDER_MESSAGE });
    expect(NO_PROVIDER_MESSAGE).toContain('docs/eval.md');
  });

  it('Given provider credentials or a recorded session, When the eval model is chosen, Then the configured provider is taken, or the replay offline (a replay model through the env is refused)', () => {
    const env = { NIGHTSHIFT_CONFIG: `${__dirname}/../../nightshift.config.json` };
    expect(evalModelChoice({ ...env, AWS_PROFILE: 'eval' }, undefined)).toMatchObject({
      model: 'bedrock',
      modelConfig: { id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' },
    });
    expect(evalModelChoice(env, 'eval/replays/js-bug-failing-test.jsonl')).toMatchObject({
      model: expect.stringMatching(/^replay:\/.*js-bug-failing-test\.jsonl$/),
    });
    expect(evalModelChoice({ ...env, NIGHTSHIFT_MODEL: 'replay:x.jsonl' }, undefined)).toMatchObject({
      error: expect.stringContaining('use --replay'),
    });
  });
});
