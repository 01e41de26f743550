import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WakeDelivery } from '../../core/runs/queue-wake';

/** SendTaskSuccess answers these when the task of the token already ended (timed out, execution stopped) or never was. */
const endedTaskErrors = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

/**
 * Completes a waiting task (a queued run's Admit state) with `output`: `gone` when its wait had
 * already ended otherwise, which is not an error (the state machine went on without this answer).
 */
export function sfnTaskCompleter(sfn: SFNClient): (token: string, output: string) => Promise<WakeDelivery> {
  return async (token, output) => {
    try {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output }));
      return 'delivered';
    } catch (err) {
      if (err instanceof Error && endedTaskErrors.has(err.name)) return 'gone';
      throw err;
    }
  };
}
