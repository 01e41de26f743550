import { DEFAULT_PACE, nextDelay, pollWithBackoff, type PollClock, type PollVisibility } from '../../console/client/poll-schedule';

/**
 * The console's polling pace (console/client/poll-schedule.ts, used by console/client/live.ts) on an
 * injected clock: every timer the poller sets is recorded with its delay and fired by the test, so
 * no assertion depends on the wall clock.
 */
class FakeClock implements PollClock {
  private next = 1;
  readonly pending = new Map<number, { run: () => void; ms: number }>();
  /** Every delay asked for, in order. */
  readonly delays: number[] = [];
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { run, ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Fires the one pending timer (a poller never has two) and lets the poll it starts settle. */
  async fire(): Promise<void> {
    expect(this.pending.size).toBe(1);
    const [[id, timer]] = [...this.pending];
    this.pending.delete(id);
    timer.run();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
}

class FakeVisibility implements PollVisibility {
  isHidden = false;
  private listeners: (() => void)[] = [];
  hidden() {
    return this.isHidden;
  }
  onChange(listener: () => void) {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
  set(hidden: boolean) {
    this.isHidden = hidden;
    for (const l of this.listeners) l();
  }
  get listening() {
    return this.listeners.length;
  }
}

/** A poller whose polls answer from a script: true/false (changed or not) or an Error (it fails). */
function scripted(script: (boolean | Error)[], pace = {}) {
  const clock = new FakeClock();
  const visibility = new FakeVisibility();
  const errors: unknown[] = [];
  let polls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const poller = pollWithBackoff(
    {
      tick: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const step = script[polls++] ?? false;
        await Promise.resolve();
        inFlight--;
        if (step instanceof Error) throw step;
        return step;
      },
      onError: (error) => errors.push(error),
      ...pace,
    },
    clock,
    visibility,
  );
  return { clock, visibility, errors, poller, polls: () => polls, maxInFlight: () => maxInFlight };
}

describe('the polling pace', () => {
  test('Given nothing changes, Then the delay grows by half each quiet poll up to 15 s; a change brings it back to 1.5 s', async () => {
    const p = scripted([false, false, false, false, false, false, false, true, false]);
    for (let i = 0; i < 9; i++) await p.clock.fire();
    // The first poll at once, then 1.5 s × 1.5^n, capped at 15 s, and 1.5 s after the change.
    expect(p.clock.delays).toEqual([0, 2_250, 3_375, 5_063, 7_595, 11_393, 15_000, 15_000, 1_500, 2_250]);
    expect(p.maxInFlight()).toBe(1);
  });

  test('Given polls fail, Then the delay doubles from 3 s up to the 30 s cap, the page is told each time, and the first success resets the pace and clears the notice', async () => {
    const boom = new Error('502 from the API');
    const p = scripted([boom, boom, boom, boom, boom, boom, false, false]);
    for (let i = 0; i < 8; i++) await p.clock.fire();
    expect(p.clock.delays).toEqual([0, 3_000, 6_000, 12_000, 24_000, 30_000, 30_000, 1_500, 2_250]);
    expect(p.errors).toEqual([boom, boom, boom, boom, boom, boom, undefined]);
  });

  test('Given a pace of its own (the runs page polls fast), When the next delay is computed, Then it follows that pace, as a pure function', () => {
    const pace = { fastMs: 1_000, slowMs: 4_000, errorMaxMs: 5_000 };
    expect(nextDelay(pace, 1_000, { failures: 0, changed: false })).toBe(1_500);
    expect(nextDelay(pace, 3_000, { failures: 0, changed: false })).toBe(4_000);
    expect(nextDelay(pace, 4_000, { failures: 0, changed: true })).toBe(1_000);
    expect(nextDelay(pace, 4_000, { failures: 3 })).toBe(5_000);
    expect(nextDelay(pace, 5_000, { failures: 0, recovered: true })).toBe(1_000);
    expect(DEFAULT_PACE).toEqual({ fastMs: 1_500, slowMs: 15_000, errorMaxMs: 30_000 });
  });

  test('Given the tab is hidden, Then no poll runs and none is scheduled; shown again, it polls at once at the fast pace', async () => {
    const p = scripted([false, false, false, false]);
    await p.clock.fire();
    await p.clock.fire();
    expect(p.polls()).toBe(2);
    p.visibility.set(true);
    await p.clock.fire(); // the timer due while hidden does nothing and schedules nothing
    expect(p.polls()).toBe(2);
    expect(p.clock.pending.size).toBe(0);
    p.visibility.set(false);
    expect(p.clock.delays.at(-1)).toBe(0);
    await p.clock.fire();
    expect(p.polls()).toBe(3);
    expect(p.clock.delays.at(-1)).toBe(2_250);
  });

  test('Given a poller, When it is poked, Then it polls now and keeps one timer; When stopped, Then the timer is cancelled and it stops listening', async () => {
    const p = scripted([false, false, false]);
    await p.clock.fire();
    await p.clock.fire();
    expect(p.clock.delays.at(-1)).toBe(3_375);
    p.poller.poke();
    expect(p.clock.pending.size).toBe(1);
    expect(p.clock.delays.at(-1)).toBe(0);
    await p.clock.fire();
    expect(p.clock.delays.at(-1)).toBe(2_250);
    p.poller.stop();
    expect(p.clock.pending.size).toBe(0);
    expect(p.visibility.listening).toBe(0);
    p.poller.poke();
    expect(p.clock.pending.size).toBe(0);
  });
});
