import { blockedHosts, costSplit, testDelta, toolRunningNow } from '../../core/console/run-insights';
import type { RunEvent } from '../../core/runs/schemas';

const runId = '01J00000000000000000000000';
let seq = 0;
function event(type: RunEvent['type'], detail: Record<string, unknown>, message = type): RunEvent {
  seq++;
  return { runId, seq: String(seq).padStart(4, '0'), at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, type, message, detail };
}

describe('toolRunningNow', () => {
  it('Given a turn that asked for two tools and one finished, When the run is running, Then the second is running now', () => {
    const events = [
      event('model_turn', { turn: 1, tools: ['read_file', 'shell'], costMicros: 10 }),
      event('tool_call', { turn: 1, name: 'read_file' }),
    ];
    expect(toolRunningNow(events, 'RUNNING')).toEqual({ name: 'shell', turn: 1, since: events[0]!.at });
  });

  it('Given every tool of the last turn finished, a turn that asked for none, or a run not running, Then no tool runs now', () => {
    const finished = [event('model_turn', { turn: 2, tools: ['shell'] }), event('tool_call', { turn: 2, name: 'shell' })];
    expect(toolRunningNow(finished, 'RUNNING')).toBeNull();
    expect(toolRunningNow([event('model_turn', { turn: 3, tools: [] })], 'RUNNING')).toBeNull();
    expect(toolRunningNow([event('model_turn', { turn: 1, tools: ['shell'] })], 'SUCCEEDED')).toBeNull();
    expect(toolRunningNow([], 'RUNNING')).toBeNull();
  });

  it('Given start events, When one has not ended, Then it is what runs now, setup and tests included, with its one-line activity', () => {
    const setup = [event('tool_start', { turn: 0, name: 'setup', activity: 'setup: npm ci' })];
    expect(toolRunningNow(setup, 'RUNNING')).toEqual({ name: 'setup', turn: 0, since: setup[0]!.at, activity: 'setup: npm ci' });
    const tests = [
      ...setup,
      event('tool_call', { name: 'setup' }),
      event('tool_start', { turn: 0, name: 'tests at base', activity: 'tests at base: npm test' }),
    ];
    expect(toolRunningNow(tests, 'RUNNING')).toMatchObject({ name: 'tests at base', activity: 'tests at base: npm test' });
    const agent = [
      event('model_turn', { turn: 2, tools: ['shell'] }),
      event('tool_start', { turn: 2, name: 'shell', activity: 'shell: npm test -- --watch=false' }),
    ];
    expect(toolRunningNow(agent, 'RUNNING')).toEqual({
      name: 'shell',
      turn: 2,
      since: agent[1]!.at,
      activity: 'shell: npm test -- --watch=false',
    });
  });

  it('Given a start followed by its end, the next model turn or a status change, Then the start is no longer running', () => {
    const start = event('tool_start', { turn: 0, name: 'tests at head', activity: 'tests at head: npm test' });
    expect(toolRunningNow([start, event('test_result', { phase: 'head', passed: true, total: 1, failed: [] })], 'RUNNING')).toBeNull();
    expect(toolRunningNow([start, event('status', { status: 'RUNNING' })], 'RUNNING')).toBeNull();
    // A later turn that asked for nothing yet is not the ended start: the turn's own tools decide.
    expect(
      toolRunningNow(
        [
          event('tool_start', { turn: 1, name: 'shell', activity: 'shell: ls' }),
          event('tool_call', { turn: 1, name: 'shell' }),
          event('model_turn', { turn: 2, tools: ['read_file'] }),
        ],
        'RUNNING',
      ),
    ).toMatchObject({ name: 'read_file', turn: 2 });
    expect(toolRunningNow([start], 'SUCCEEDED')).toBeNull();
  });

  it('Given tool calls of other turns (setup commands have none), Then they are ignored for what runs now', () => {
    const events = [
      event('tool_call', { name: 'setup' }),
      event('model_turn', { turn: 4, tools: ['search'] }),
      event('tool_call', { turn: 3, name: 'shell' }),
    ];
    expect(toolRunningNow(events, 'RUNNING')).toMatchObject({ name: 'search', turn: 4 });
  });
});

describe('testDelta', () => {
  it('Given failures at base and head, Then the delta names the newly failing and newly passing tests', () => {
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

  it('Given the head tests not run yet, Then there is no delta', () => {
    expect(testDelta([event('test_result', { phase: 'base', passed: true, total: 1, failed: [] })])).toMatchObject({
      head: null,
      newlyFailing: [],
      newlyPassing: [],
    });
    expect(testDelta([])).toEqual({ base: null, head: null, newlyFailing: [], newlyPassing: [] });
  });
});

describe('blockedHosts', () => {
  it('Given egress_blocked events, Then their hosts are added up, most refused first, and malformed entries skipped', () => {
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
  it('Given model turns and compute charges, Then the cost split sums the model turns and takes the final compute charge', () => {
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
