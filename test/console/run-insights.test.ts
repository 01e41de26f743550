import { blockedHosts, costSplit, testDelta, toolRunningNow } from '../../core/console/run-insights';
import type { RunEvent } from '../../core/runs/schemas';

const runId = '01J00000000000000000000000';
let seq = 0;
function event(type: RunEvent['type'], detail: Record<string, unknown>, message = type): RunEvent {
  seq++;
  return { runId, seq: String(seq).padStart(4, '0'), at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, type, message, detail };
}

describe('toolRunningNow', () => {
  it('given a turn that asked for two tools and one finished, when running, then the second is running', () => {
    const events = [event('model_turn', { turn: 1, tools: ['read_file', 'shell'], costMicros: 10 }), event('tool_call', { turn: 1, name: 'read_file' })];
    expect(toolRunningNow(events, 'RUNNING')).toEqual({ name: 'shell', turn: 1, since: events[0]!.at });
  });

  it('is null when every tool of the last turn finished, when the turn asked for none, or when not running', () => {
    const finished = [event('model_turn', { turn: 2, tools: ['shell'] }), event('tool_call', { turn: 2, name: 'shell' })];
    expect(toolRunningNow(finished, 'RUNNING')).toBeNull();
    expect(toolRunningNow([event('model_turn', { turn: 3, tools: [] })], 'RUNNING')).toBeNull();
    expect(toolRunningNow([event('model_turn', { turn: 1, tools: ['shell'] })], 'SUCCEEDED')).toBeNull();
    expect(toolRunningNow([], 'RUNNING')).toBeNull();
  });

  it('ignores tool calls of other turns (setup commands have none)', () => {
    const events = [event('tool_call', { name: 'setup' }), event('model_turn', { turn: 4, tools: ['search'] }), event('tool_call', { turn: 3, name: 'shell' })];
    expect(toolRunningNow(events, 'RUNNING')).toMatchObject({ name: 'search', turn: 4 });
  });
});

describe('testDelta', () => {
  it('given failures at base and head, then it names the newly failing and newly passing tests', () => {
    const events = [
      event('test_result', { phase: 'base', passed: false, total: 3, failed: ['a', 'b'] }),
      event('test_result', { phase: 'head', passed: false, total: 4, failed: ['b', 'c'] }),
    ];
    expect(testDelta(events)).toEqual({
      base: { passed: false, total: 3, failed: ['a', 'b'] },
      head: { passed: false, total: 4, failed: ['b', 'c'] },
      newlyFailing: ['c'],
      newlyPassing: ['a'],
    });
  });

  it('has no delta before the head tests ran', () => {
    expect(testDelta([event('test_result', { phase: 'base', passed: true, total: 1, failed: [] })])).toMatchObject({ head: null, newlyFailing: [], newlyPassing: [] });
    expect(testDelta([])).toEqual({ base: null, head: null, newlyFailing: [], newlyPassing: [] });
  });
});

describe('blockedHosts', () => {
  it('adds up the hosts of every egress_blocked event, most refused first, and skips malformed entries', () => {
    const events = [
      event('egress_blocked', { hosts: [{ host: 'evil.example', count: 2 }, { host: 'pypi.org', count: 1 }, { nope: true }] }),
      event('egress_blocked', { hosts: [{ host: 'pypi.org', count: 3 }] }),
      event('egress_blocked', { hosts: 'not a list' }),
    ];
    expect(blockedHosts(events)).toEqual([
      { host: 'pypi.org', count: 4 },
      { host: 'evil.example', count: 2 },
    ]);
  });
});

describe('costSplit', () => {
  it('sums the model turns and takes the final compute charge', () => {
    const events = [
      event('model_turn', { turn: 1, costMicros: 1200 }),
      event('model_turn', { turn: 2, costMicros: 800 }),
      event('note', { computeSeconds: 12.5, computeMicros: 150 }),
      event('trace', { computeMicros: 150, modelMicros: 2000 }),
    ];
    expect(costSplit(events)).toEqual({ modelMicros: 2000, computeMicros: 150, computeSeconds: 12.5 });
    expect(costSplit([])).toEqual({ modelMicros: 0, computeMicros: 0, computeSeconds: null });
  });
});
