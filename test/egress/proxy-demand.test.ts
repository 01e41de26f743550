import { createProxyIdleClock } from '../../adapters/dynamodb/proxy-idle-clock';
import {
  ensureProxyForRun,
  PROXY_START_MAX_CHECKS,
  proxyStartCheck,
  stopIdleProxy,
  type ProxyIdleClockPort,
  type ProxyServicePort,
} from '../../core/egress/proxy-demand';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { queuedRun } from '../store/run-fixtures';

/**
 * The proxy's service as our port sees it, in memory: the desired count the calls set, a task that
 * runs as soon as it is asked for, and each call recorded. (The ECS adapter itself is tested against
 * local mode's ECS endpoint in test/local/egress-proxy-service.test.ts.)
 */
function serviceAt(desiredCount: 0 | 1, onScale?: (to: 0 | 1) => Promise<void>) {
  const calls: (0 | 1)[] = [];
  let desired: number = desiredCount;
  const port: ProxyServicePort = {
    describe: async () => ({ desiredCount: desired, runningCount: desired }),
    scaleTo: async (to) => {
      calls.push(to);
      desired = to;
      await onScale?.(to);
    },
  };
  return { port, calls, desired: () => desired };
}

describe('the on-demand proxy decisions (core/egress/proxy-demand.ts)', () => {
  it('Given the runner waiting for a proxy, When checks fail, Then it waits until the last check and gives up there; bad counts are refused', () => {
    expect(proxyStartCheck(1)).toBe('wait');
    expect(proxyStartCheck(PROXY_START_MAX_CHECKS - 1)).toBe('wait');
    expect(proxyStartCheck(PROXY_START_MAX_CHECKS)).toBe('give-up');
    expect(proxyStartCheck(3, 3)).toBe('give-up');
    expect(proxyStartCheck(1, 1)).toBe('give-up');
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => proxyStartCheck(bad)).toThrow(RangeError);
    for (const bad of [0, 2.5]) expect(() => proxyStartCheck(1, bad)).toThrow(RangeError);
  });

  it('Given a proxy scaled to zero, When a run is admitted, Then admission sets the desired count to 1; a proxy up or starting is left alone', async () => {
    const down = serviceAt(0);
    expect(await ensureProxyForRun(down.port)).toBe('started');
    expect(down.calls).toEqual([1]);

    const up = serviceAt(1);
    expect(await ensureProxyForRun(up.port)).toBe('running');
    const starting: ProxyServicePort = { describe: async () => ({ desiredCount: 1, runningCount: 0 }), scaleTo: up.port.scaleTo };
    expect(await ensureProxyForRun(starting)).toBe('starting');
    expect(up.calls).toEqual([]);
  });
});

describe('the idle stop of the on-demand proxy, over dynalite slots and idle clock', () => {
  const db = freshEachTest(startDynalite);
  let clock: ProxyIdleClockPort;
  const t0 = new Date('2026-12-07T10:00:00.000Z');
  const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

  beforeEach(() => {
    clock = createProxyIdleClock(db.doc, db.names.control);
  });

  const tick = (proxy: ProxyServicePort, now: Date, idleMinutes = 15) =>
    stopIdleProxy({ proxy, clock, activeRuns: () => db.store.slots.holders(), idleMinutes, now });

  it('Given a proxy up with no run, When ticks pass, Then it stops only once it has been seen idle for idleMinutes, and its clock is cleared', async () => {
    const service = serviceAt(1);
    expect(await tick(service.port, at(0))).toEqual({ step: 'idle', activeRuns: 0 });
    expect(await clock.idleSince()).toBe(at(0).toISOString());
    expect(await tick(service.port, at(14.9))).toEqual({ step: 'idle', activeRuns: 0 });
    expect(service.calls).toEqual([]);
    expect(await tick(service.port, at(15))).toEqual({ step: 'stopped', activeRuns: 0 });
    expect(service.calls).toEqual([0]);
    expect(await clock.idleSince()).toBeUndefined();
    // Down and nobody needs it: nothing to do.
    expect(await tick(service.port, at(16))).toEqual({ step: 'down', activeRuns: 0 });
    expect(service.calls).toEqual([0]);
  });

  it('Given a proxy counting its idle time, When a run takes a slot, Then the count starts again after the run ends', async () => {
    const service = serviceAt(1);
    await tick(service.port, at(0));
    const run = queuedRun();
    expect(await db.store.slots.acquire(run.runId, run.repo, { global: 2, perRepo: 2 })).toBe(true);
    expect(await tick(service.port, at(10))).toEqual({ step: 'busy', activeRuns: 1 });
    expect(await clock.idleSince()).toBeUndefined();
    await db.store.slots.release(run.runId, run.repo);
    expect(await tick(service.port, at(20))).toEqual({ step: 'idle', activeRuns: 0 });
    // 15 minutes after the end was first seen (minute 20), not after the first idle sighting (minute 0).
    expect(await tick(service.port, at(34))).toEqual({ step: 'idle', activeRuns: 0 });
    expect(await tick(service.port, at(35))).toEqual({ step: 'stopped', activeRuns: 0 });
  });

  it('Given a proxy scaled to zero while a run holds a slot (a start lost), When the tick runs, Then it starts the proxy again', async () => {
    const service = serviceAt(0);
    await clock.markIdle(at(0).toISOString());
    const run = queuedRun();
    await db.store.slots.acquire(run.runId, run.repo, { global: 2, perRepo: 2 });
    expect(await tick(service.port, at(1))).toEqual({ step: 'started', activeRuns: 1 });
    expect(service.calls).toEqual([1]);
    expect(await clock.idleSince()).toBeUndefined();
  });

  it('Given the tick stopping an idle proxy, When a run is admitted between the stop and the tick reading the slots again, Then the tick starts the proxy again', async () => {
    const run = queuedRun();
    // Admission takes its slots after it saw the proxy still up (so it started nothing), while the stop goes out.
    const service = serviceAt(1, async (to) => {
      if (to === 0) await db.store.slots.acquire(run.runId, run.repo, { global: 2, perRepo: 2 });
    });
    await tick(service.port, at(0));
    expect(await tick(service.port, at(15))).toEqual({ step: 'started', activeRuns: 1 });
    expect(service.calls).toEqual([0, 1]);
    expect(service.desired()).toBe(1);
  });

  it('Given two ticks that both see the proxy idle first, When they record it, Then the earlier sighting stands; a bad idle period is refused before anything is read', async () => {
    await clock.markIdle(at(0).toISOString());
    await clock.markIdle(at(5).toISOString());
    expect(await clock.idleSince()).toBe(at(0).toISOString());
    await clock.clear();
    expect(await clock.idleSince()).toBeUndefined();
    await expect(clock.markIdle('yesterday')).rejects.toThrow();
    const service = serviceAt(1);
    for (const idleMinutes of [0, -5, 2.5]) await expect(tick(service.port, at(0), idleMinutes)).rejects.toThrow(RangeError);
    expect(await clock.idleSince()).toBeUndefined();
    expect(service.calls).toEqual([]);
  });
});
