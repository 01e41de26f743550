/**
 * The offline ASL executor: runs the run state machine exactly as `cdk synth` produced it, without
 * AWS. Used by the stack's orchestration tests and by local mode.
 *
 *   const machine = LocalStateMachine.fromTemplate(template, {
 *     handlers: { 'lambdas/orchestrator/admit.ts': admit, 'lambdas/orchestrator/finalize.ts': finalize, 'lambdas/orchestrator/backstop.ts': backstop },
 *     integrations: { 'arn:aws:states:::ecs:runTask.waitForTaskToken': async ({ parameters, token }) => startRunner(parameters, token) },
 *     waitStateMs: 10, retryIntervalMs: 0,
 *   });
 *   machine.start(runId, executionInput);            // or startExecution(arn, name, inputJson), the SFN API shape
 *   await machine.sendTaskHeartbeat(token);          // sendTaskSuccess(token, outputJson) / sendTaskFailure(token, error, cause)
 *   await machine.stopExecution(executionArn, error, cause);
 *   const done = await machine.waitForExecution(runId); // terminal, and every status-change delivery finished
 *
 * - The definition comes from the template (template.ts): intrinsics resolve to stable local ARNs;
 *   Lambda tasks map to in-process handlers through the `nightshift:entry` metadata each function
 *   carries, so a handler module is named, never a logical id.
 * - Interpretation is aws-local-stepfunctions (JSONPath). Around it this module adds what it lacks:
 *   task tokens (`$$.Task.Token`) with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat,
 *   TimeoutSeconds(Path) and HeartbeatSeconds(Path) clocks on callback tasks (States.Timeout,
 *   States.HeartbeatTimeout), no 60-second default timeout on other tasks (AWS has none), StopExecution
 *   (ABORTED; pending tasks never complete, their tokens answer TaskTimedOut), Standard-workflow name
 *   idempotency, and EventBridge delivery of execution status changes to the template's rules whose
 *   pattern matches (the backstop), with Lambda's asynchronous retries.
 * - The modules: executor.ts runs executions (names, tokens, stops, the per-execution task
 *   implementations); prepared-definition.ts turns the synthesized definition into the one the
 *   interpreter gets (callback clocks out of its hands, no default task timeout, every task resource
 *   checked to run locally); status-change-delivery.ts is the EventBridge side (events, pattern
 *   matching, asynchronous retries); task-tokens.ts the tokens and their clocks; template.ts the
 *   reading of the template.
 * - API errors are `StepFunctionsError`s whose `name` is the SFN error code (InvalidToken,
 *   TaskTimedOut, InvalidOutput, ExecutionAlreadyExists, ExecutionDoesNotExist, ...).
 * - Known differences from AWS: the timeouts this module raises are plain errors named States.Timeout
 *   / States.HeartbeatTimeout, so a `States.TaskFailed` catcher would also catch them (the run
 *   definition catches States.ALL); Parallel and Map states are refused; execution history is the list
 *   of states entered.
 */
export {
  LocalStateMachine,
  type ExecutionDescription,
  type ExecutionStatus,
  type IntegrationCall,
  type LocalHandler,
  type LocalIntegration,
  type LocalStateMachineOptions,
} from './executor';
export { ExecutionStoppedError, StepFunctionsError, TaskStateError } from './errors';
export { matchesEventPattern } from './event-pattern';
export { TaskTokenRegistry, type TokenTimers } from './task-tokens';
export { extractStateMachine, resolveIntrinsics, type ExtractedStateMachine, type StatusChangeRule } from './template';
