/**
 * The pace of the console's polling (console/client/live.ts), with its clock and the tab's visibility
 * passed in, so the backoff is tested without a browser or a wall clock (test/console/live-backoff.test.ts).
 * One request at a time (the next is scheduled only after the previous answered), quick while
 * something changes, slower while nothing does, exponentially slower after errors up to a cap, back
 * to quick after the first success, and paused while the tab is hidden. Never a busy loop.
 */
export interface LiveOptions {
  /** Does one poll; resolves true when something changed (the pace quickens again). */
  tick: () => Promise<boolean>;
  /** Called with the error of a failed poll, and with undefined when polls succeed again. */
  onError?: (error: unknown) => void;
  fastMs?: number;
  slowMs?: number;
  errorMaxMs?: number;
}

export interface Live {
  /** Polls now (after an action of the user), then keeps the pace. */
  poke(): void;
  stop(): void;
}

/** Timers: the browser's setTimeout and clearTimeout, or a test's. */
export interface PollClock {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Whether the tab is hidden, and a way to hear when that changes (returns the unsubscribe). */
export interface PollVisibility {
  hidden(): boolean;
  onChange(listener: () => void): () => void;
}

export interface Pace {
  fastMs: number;
  slowMs: number;
  errorMaxMs: number;
}

export const DEFAULT_PACE: Pace = { fastMs: 1_500, slowMs: 15_000, errorMaxMs: 30_000 };

/**
 * The delay before the next poll. A change: fast. Nothing changed: half as long again, up to slow.
 * The n-th failure in a row: fast × 2^n, up to errorMax. The first success after failures: fast (what
 * the page shows is stale by then), whatever it found.
 */
export function nextDelay(pace: Pace, previousMs: number, outcome: { failures: number; changed?: boolean; recovered?: boolean }): number {
  if (outcome.failures > 0) return Math.min(pace.errorMaxMs, pace.fastMs * 2 ** outcome.failures);
  if (outcome.changed || outcome.recovered) return pace.fastMs;
  return Math.min(pace.slowMs, Math.round(previousMs * 1.5));
}

export function pollWithBackoff(options: LiveOptions, clock: PollClock, visibility: PollVisibility): Live {
  const pace: Pace = {
    fastMs: options.fastMs ?? DEFAULT_PACE.fastMs,
    slowMs: options.slowMs ?? DEFAULT_PACE.slowMs,
    errorMaxMs: options.errorMaxMs ?? DEFAULT_PACE.errorMaxMs,
  };
  let delay = pace.fastMs;
  let failures = 0;
  let timer: unknown;
  let running = false;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => void run(), ms);
  };

  async function run(): Promise<void> {
    timer = undefined;
    if (stopped || running) return;
    if (visibility.hidden()) return; // resumed when the tab shows again
    running = true;
    try {
      const changed = await options.tick();
      const recovered = failures > 0;
      if (recovered) options.onError?.(undefined);
      failures = 0;
      delay = nextDelay(pace, delay, { failures, changed, recovered });
    } catch (error) {
      failures++;
      options.onError?.(error);
      delay = nextDelay(pace, delay, { failures });
    } finally {
      running = false;
    }
    schedule(delay);
  }

  const unsubscribe = visibility.onChange(() => {
    if (!visibility.hidden()) {
      delay = pace.fastMs;
      schedule(0);
    }
  });
  schedule(0);

  return {
    poke() {
      delay = pace.fastMs;
      schedule(0);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      unsubscribe();
    },
  };
}
