import type { SFNClient } from '@aws-sdk/client-sfn';
import { RunnerPause } from '../core/inbox/pause-report';
import { RunnerResult, type RunnerErrorName } from '../core/runs/schemas';

/** The runner's side of `ecs:runTask.waitForTaskToken`: heartbeats and the one final report. */
export interface TaskCallbacks {
  heartbeat(): Promise<void>;
  succeed(result: RunnerResult): Promise<void>;
  /** The run paused for a human (SendTaskSuccess with `{pause}`: the state machine waits on the inbox). */
  pause(report: RunnerPause): Promise<void>;
  fail(error: RunnerErrorName, cause: string): Promise<void>;
}

/** The state machine no longer waits for this task (timed out, stopped): the runner should stop too. */
export class TaskNoLongerWaitedError extends Error {
  constructor(readonly reason: string) {
    super(`the state machine no longer waits for this run: ${reason}`);
    this.name = 'TaskNoLongerWaitedError';
  }
}

/**
 * The task role may not call SendTask* for this token: a deploy whose grant does not cover the state
 * machine (docs/operations.md, "Checking states:SendTask* at the first deploy"). No retry mends it, and
 * the final report would be refused the same way, so the run stops and says so.
 */
export class TaskCallbacksDeniedError extends Error {
  constructor(readonly reason: string) {
    super(
      `the task role may not report to the state machine (${reason}): states:SendTaskHeartbeat/Success/Failure were refused for this run's task token; see docs/operations.md`,
    );
    this.name = 'TaskCallbacksDeniedError';
  }
}

const goneErrors = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);
const deniedErrors = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'NotAuthorized', 'UnauthorizedException']);

/**
 * `client`: the Step Functions client, or how to make it on first use (runner/egress/proxied-clients.ts
 * loads the SDK package then, so it is not part of the runner's start).
 */
export function stepFunctionsCallbacks(client: SFNClient | (() => Promise<SFNClient>), taskToken: string): TaskCallbacks {
  let loaded: Promise<{ sfn: SFNClient; commands: typeof import('@aws-sdk/client-sfn') }> | undefined;
  const sfn = () =>
    (loaded ??= Promise.all([typeof client === 'function' ? client() : client, import('@aws-sdk/client-sfn')]).then(([sfn, commands]) => ({
      sfn,
      commands,
    })));
  return {
    async heartbeat() {
      const { sfn: c, commands } = await sfn();
      try {
        await c.send(new commands.SendTaskHeartbeatCommand({ taskToken }));
      } catch (err) {
        const name = (err as { name?: string }).name ?? '';
        if (goneErrors.has(name)) throw new TaskNoLongerWaitedError(name);
        if (deniedErrors.has(name)) throw new TaskCallbacksDeniedError(name);
        throw err;
      }
    },
    async succeed(result) {
      const output = JSON.stringify(RunnerResult.parse(result));
      const { sfn: c, commands } = await sfn();
      await c.send(new commands.SendTaskSuccessCommand({ taskToken, output }));
    },
    async pause(report) {
      const output = JSON.stringify(RunnerPause.parse(report));
      const { sfn: c, commands } = await sfn();
      await c.send(new commands.SendTaskSuccessCommand({ taskToken, output }));
    },
    async fail(error, cause) {
      const { sfn: c, commands } = await sfn();
      await c.send(new commands.SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 1_000) }));
    },
  };
}
