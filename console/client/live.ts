import { pollWithBackoff, type Live, type LiveOptions } from './poll-schedule';

export type { Live, LiveOptions } from './poll-schedule';

/**
 * Live updates by polling with backoff (console/client/poll-schedule.ts), on the browser's timers and
 * the document's visibility: paused while the tab is hidden, polled at once when it shows again.
 */
export function live(options: LiveOptions): Live {
  return pollWithBackoff(
    options,
    { setTimeout: (run, ms) => window.setTimeout(run, ms), clearTimeout: (handle) => window.clearTimeout(handle as number) },
    {
      hidden: () => document.hidden,
      onChange: (listener) => {
        document.addEventListener('visibilitychange', listener);
        return () => document.removeEventListener('visibilitychange', listener);
      },
    },
  );
}
