import { wakeQueuedRuns, WOKEN_OUTPUT, type QueueWakeDeps } from '../core/runs/queue-wake';
import type { LocalStateMachine } from './state-machine';

/** How often local mode sweeps the queue (the run gauges do it every minute on AWS); more often here, where it costs nothing. */
export const QUEUE_SWEEP_MS = 5_000;

/** One sweep: wakes the queued runs the free capacity admits, through the offline executor's tokens. */
export async function sweepQueue(
  deps: Omit<QueueWakeDeps, 'wakeRun'> & { machine: Pick<LocalStateMachine, 'sendTaskSuccess'> },
): Promise<{ woken: string[] }> {
  return wakeQueuedRuns({
    ...deps,
    wakeRun: async (token) => {
      try {
        await deps.machine.sendTaskSuccess(token, WOKEN_OUTPUT);
        return 'delivered';
      } catch (err) {
        if (err instanceof Error && (err.name === 'TaskTimedOut' || err.name === 'InvalidToken')) return 'gone';
        throw err;
      }
    },
  });
}
