/** The part of a timeline entry (`RunEvent`, core/runs/schemas.ts) these functions read. */
export interface TimelineEvent {
  type: string;
  at: string;
  detail?: Record<string, unknown> | undefined;
}

/**
 * What the console shows about a run beyond its record, derived from its timeline
 * (`GET /v1/runs/{runId}/events`): the tool running now, the test delta from base to head, the hosts
 * the egress proxy refused, and the cost split into model tokens and compute. Pure.
 */

export interface ToolRunningNow {
  name: string;
  /** The model turn that asked for it; 0 for the runner's own setup commands and test runs. */
  turn: number;
  /** When it started (its `tool_start` event), or when the model asked for it (a timeline without start events). */
  since: string;
  /** What it does, in one line (`shell: npm test`), as the runner's start event says; absent without one. */
  activity?: string;
}

/** The events that say a started tool, setup command or test run is over, or that the run moved on. */
const ENDS_A_START = new Set(['tool_call', 'test_result', 'model_turn', 'status']);

export interface TestSide {
  passed: boolean;
  total: number;
  failed: string[];
}

export interface TestDelta {
  base: TestSide | null;
  head: TestSide | null;
  /** Failing at head, not at base. */
  newlyFailing: string[];
  /** Failing at base, not at head. */
  newlyPassing: string[];
}

export interface BlockedHost {
  host: string;
  count: number;
}

export interface CostSplit {
  modelMicros: number;
  computeMicros: number;
  computeSeconds: number | null;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * What the run is running now: the last `tool_start` not yet ended; on a timeline without start
 * events, the tool a model turn asked for of which no call has been recorded yet (tool calls are
 * recorded when they end). Only while RUNNING.
 */
export function toolRunningNow(events: readonly TimelineEvent[], status: string): ToolRunningNow | null {
  if (status !== 'RUNNING') return null;
  // The runner announces each tool, setup command and test run before it runs (`tool_start`): the
  // last one is running unless something that ends it came after.
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'tool_start') {
      const detail = record(e.detail);
      const name = typeof detail.name === 'string' ? detail.name : undefined;
      if (name === undefined) break;
      return {
        name,
        turn: num(detail.turn) ?? 0,
        since: e.at,
        ...(typeof detail.activity === 'string' ? { activity: detail.activity } : {}),
      };
    }
    if (ENDS_A_START.has(e.type)) break;
  }
  let lastTurn = -1;
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i]!.type === 'model_turn') {
      lastTurn = i;
      break;
    }
  }
  if (lastTurn < 0) return null;
  const turnEvent = events[lastTurn]!;
  const detail = record(turnEvent.detail);
  const turn = num(detail.turn);
  const tools = strings(detail.tools);
  if (turn === undefined || tools.length === 0) return null;
  const done = events.slice(lastTurn + 1).filter((e) => e.type === 'tool_call' && num(record(e.detail).turn) === turn).length;
  // Once a terminal-ish event follows (a status change), nothing is running any more.
  if (events.slice(lastTurn + 1).some((e) => e.type === 'status')) return null;
  const name = tools[done];
  return name === undefined ? null : { name, turn, since: turnEvent.at };
}

function testSide(event: TimelineEvent | undefined): TestSide | null {
  if (!event) return null;
  const detail = record(event.detail);
  return { passed: detail.passed === true, total: num(detail.total) ?? 0, failed: strings(detail.failed) };
}

/** The tests at base and at head (the last report of each phase) and what changed between them. */
export function testDelta(events: readonly TimelineEvent[]): TestDelta {
  const tests = events.filter((e) => e.type === 'test_result');
  const base = testSide(tests.filter((e) => record(e.detail).phase === 'base').at(-1));
  const head = testSide(tests.filter((e) => record(e.detail).phase === 'head').at(-1));
  const baseFailed = new Set(base?.failed ?? []);
  const headFailed = new Set(head?.failed ?? []);
  return {
    base,
    head,
    newlyFailing: base && head ? [...headFailed].filter((t) => !baseFailed.has(t)) : [],
    newlyPassing: base && head ? [...baseFailed].filter((t) => !headFailed.has(t)) : [],
  };
}

/** Every host the egress proxy refused, with its request count, most refused first. */
export function blockedHosts(events: readonly TimelineEvent[]): BlockedHost[] {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.type !== 'egress_blocked') continue;
    const hosts = record(event.detail).hosts;
    if (!Array.isArray(hosts)) continue;
    for (const h of hosts) {
      const entry = record(h);
      if (typeof entry.host !== 'string') continue;
      counts.set(entry.host, (counts.get(entry.host) ?? 0) + (num(entry.count) ?? 1));
    }
  }
  return [...counts].map(([host, count]) => ({ host, count })).sort((a, b) => b.count - a.count || a.host.localeCompare(b.host));
}

/**
 * The run's cost by where it went: model turns (each turn's settled cost) and compute (the final
 * compute charge's note, or the trace summary). Compute not yet charged counts as 0 until it is.
 */
export function costSplit(events: readonly TimelineEvent[]): CostSplit {
  let modelMicros = 0;
  let computeMicros = 0;
  let computeSeconds: number | null = null;
  for (const event of events) {
    const detail = record(event.detail);
    if (event.type === 'model_turn') modelMicros += num(detail.costMicros) ?? 0;
    else if (event.type === 'note' && num(detail.computeMicros) !== undefined) {
      computeMicros = num(detail.computeMicros)!;
      computeSeconds = num(detail.computeSeconds) ?? computeSeconds;
    } else if (event.type === 'trace' && num(detail.computeMicros) !== undefined && computeSeconds === null)
      computeMicros = num(detail.computeMicros)!;
  }
  return { modelMicros, computeMicros, computeSeconds };
}
