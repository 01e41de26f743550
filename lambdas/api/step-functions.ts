import {
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ExecutionInput } from '../../core/runs/execution';

/** The execution ARN of a run: executions are named by run id. */
export function executionArn(stateMachineArn: string, runId: string): string {
  const match = /^(arn:[^:]+:states:[^:]+:\d{12}:)stateMachine:([^:]+)$/.exec(stateMachineArn);
  if (!match) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `${match[1]}execution:${match[2]}:${runId}`;
}

/**
 * The submit/cancel ports over Step Functions. StartExecution of a Standard state machine is
 * idempotent for the same name and input, so a retried submit cannot start a run twice.
 */
export function stepFunctionsExecutions(sfn: SFNClient, stateMachineArn: string) {
  return {
    async startExecution(input: ExecutionInput): Promise<void> {
      const parsed = ExecutionInput.parse(input);
      await sfn.send(new StartExecutionCommand({ stateMachineArn, name: parsed.runId, input: JSON.stringify(parsed) }));
    },
    /** An answer completes the token a paused run's execution waits on. */
    async sendTaskSuccess(taskToken: string, output: string): Promise<void> {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output }));
    },
    /** A rejection fails the token (the wait state's Catch takes the run to Finalize). */
    async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
      await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 1_000) }));
    },
    async stopExecution(runId: string, cause: string): Promise<void> {
      try {
        await sfn.send(
          new StopExecutionCommand({
            executionArn: executionArn(stateMachineArn, runId),
            error: 'Nightshift.Cancelled',
            cause: cause.slice(0, 1_000),
          }),
        );
      } catch (err) {
        // A run whose execution never started has nothing to stop; every other failure matters.
        if (err instanceof ExecutionDoesNotExist) return;
        throw err;
      }
    },
  };
}
