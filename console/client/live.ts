/**
 * Live updates by polling with backoff: one request at a time (the next is scheduled only after the
 * previous answered), quick while something changes, slower while nothing does, much slower after
 * errors, and paused while the tab is hidden. Never a busy loop.
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

export function live(options: LiveOptions): Live {
  const fast = options.fastMs ?? 1_500;
  const slow = options.slowMs ?? 15_000;
  const errorMax = options.errorMaxMs ?? 30_000;
  let delay = fast;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };

  async function run(): Promise<void> {
    if (stopped || running) return;
    if (document.hidden) return; // resumed by visibilitychange
    running = true;
    try {
      const changed = await options.tick();
      if (failures > 0) options.onError?.(undefined);
      failures = 0;
      delay = changed ? fast : Math.min(slow, Math.round(delay * 1.5));
    } catch (error) {
      failures++;
      options.onError?.(error);
      delay = Math.min(errorMax, fast * 2 ** failures);
    } finally {
      running = false;
    }
    schedule(delay);
  }

  const onVisibility = () => {
    if (!document.hidden) {
      delay = fast;
      schedule(0);
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  schedule(0);

  return {
    poke() {
      delay = fast;
      schedule(0);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
