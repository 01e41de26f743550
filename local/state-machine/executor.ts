import '../../core/polyfills';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import * as z from 'zod';
import { ExecutionStoppedError, StepFunctionsError, TaskStateError } from './errors';
import { prepareDefinition, type PreparedDefinition } from './prepared-definition';
import { StatusChangeDelivery } from './status-change-delivery';
import { TaskTokenRegistry } from './task-tokens';
import { extractStateMachine, LOCAL_ACCOUNT, LOCAL_REGION, type ExtractedStateMachine } from './template';

/** A Lambda handler run in process: gets the task's payload, returns its result or throws. */
export type LocalHandler = (event: unknown) => Promise<unknown>;

/** One call of a service integration (`arn:aws:states:::ecs:runTask.waitForTaskToken`, ...). */
export interface IntegrationCall {
  executionName: string;
  executionArn: string;
  stateName: string;
  /** The state's resolved Parameters, as the service would receive them. */
  parameters: unknown;
  /** For `.waitForTaskToken` resources: the token the task must report back with. */
  token?: string;
}
/**
 * Implements a service integration. For `.waitForTaskToken` resources it only starts the work (its
 * return value is ignored; the state completes through the token); a rejection fails the state with
 * the error's name, like a failing service call.
 */
export type LocalIntegration = (call: IntegrationCall) => Promise<unknown>;

export interface LocalStateMachineOptions {
  /** Lambda handlers by handler module (`lambdas/orchestrator/admit.ts`), as the template names them. */
  handlers: Readonly<Record<string, LocalHandler>>;
  /** Service integrations by resource ARN (`arn:aws:states:::ecs:runTask.waitForTaskToken`). */
  integrations?: Readonly<Record<string, LocalIntegration>>;
  /** Every Wait state waits this long instead of its Seconds (tests, a responsive local mode). */
  waitStateMs?: number;
  /** Every retrier waits this long instead of its IntervalSeconds/BackoffRate. */
  retryIntervalMs?: number;
  /**
   * Callback tasks' clocks (TimeoutSeconds, HeartbeatSeconds) run this much faster or slower: 1/900
   * makes a 15-minute wait take 1 s (benchmarks of long queues). A static TimeoutSeconds, which the
   * interpreter enforces in whole seconds, is rounded (at least 1 s). Default 1.
   */
  callbackTimeScale?: number;
  /** Deliver execution status changes to the template's EventBridge rules (the backstop). Default true. */
  deliverStatusChanges?: boolean;
  /** Structured log lines (no execution data: inputs may carry task tokens). */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionDescription {
  name: string;
  executionArn: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: string | null;
  cause: string | null;
  startDate: Date;
  stopDate: Date | null;
  /** States entered, in order (the path the execution took). */
  statesEntered: string[];
  /** State transitions as Step Functions bills them: every state entered, and every retry of one. */
  stateTransitions: number;
  /** Status-change deliveries to rule targets that failed after every retry. */
  deliveryErrors: string[];
}

interface ExecutionRecord extends ExecutionDescription {
  inputText: string;
  abort: () => void;
  stopRequest: { error: string | null; cause: string | null } | undefined;
  deliveries: Promise<void>[];
  /** The execution reached its final status (deliveries may still run). */
  ended: Promise<void>;
  settled: Promise<ExecutionDescription>;
}

/** How long after the interpreter's own timeout a callback state's token closes. */
const NATIVE_TIMEOUT_GRACE_SECONDS = 0.05;
/** The Lambda callback integration, served by the template's own handlers. */
const LAMBDA_INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

const CallbackInput = z.object({
  Parameters: z.unknown(),
  TimeoutSeconds: z.number().int().positive().optional(),
  HeartbeatSeconds: z.number().int().positive().optional(),
});

/**
 * Executes the state machine of a synthesized template offline (see index.ts for the full contract).
 */
export class LocalStateMachine {
  readonly stateMachineArn: string;
  readonly extracted: ExtractedStateMachine;
  readonly tokens = new TaskTokenRegistry();
  private readonly machine: StateMachine;
  private readonly prepared: PreparedDefinition;
  private readonly statusChanges: StatusChangeDelivery;
  private readonly executions = new Map<string, ExecutionRecord>();

  static fromTemplate(template: unknown, options: LocalStateMachineOptions): LocalStateMachine {
    return new LocalStateMachine(extractStateMachine(template), options);
  }

  constructor(
    extracted: ExtractedStateMachine,
    private readonly options: LocalStateMachineOptions,
  ) {
    this.extracted = extracted;
    this.stateMachineArn = extracted.stateMachineArn;
    this.prepared = prepareDefinition(extracted.definition, {
      ...(options.callbackTimeScale !== undefined ? { callbackTimeScale: options.callbackTimeScale } : {}),
      requireLocalResource: (resource) => this.requireLocalResource(resource),
    });
    this.machine = new StateMachine(this.prepared.definition as unknown as StateMachineDefinition);
    this.statusChanges = new StatusChangeDelivery({
      rules: extracted.statusChangeRules,
      handlerFor: (entry) => this.handlerFor(entry),
      log: (message, fields) => this.log(message, fields),
    });
  }

  /** Starts an execution named `name` (the run id); AWS's StartExecution semantics for repeated names. */
  start(name: string, input: unknown): ExecutionDescription {
    return describe(this.startRecord(name, JSON.stringify(input)));
  }

  /** StartExecution as the SFN API has it (for a loopback endpoint). */
  async startExecution(
    stateMachineArn: string,
    name: string | undefined,
    input: string,
  ): Promise<{ executionArn: string; startDate: Date }> {
    if (stateMachineArn !== this.stateMachineArn)
      throw new StepFunctionsError('StateMachineDoesNotExist', `no state machine ${stateMachineArn}`);
    const record = this.startRecord(name ?? randomUUID(), input);
    return { executionArn: record.executionArn, startDate: record.startDate };
  }

  /** StopExecution: the execution ends ABORTED; its tasks never complete and their tokens are closed. */
  async stopExecution(executionArn: string, error?: string, cause?: string): Promise<{ stopDate: Date }> {
    const record = this.record(executionArn);
    if (record.status === 'RUNNING' && !record.stopRequest) {
      record.stopRequest = { error: error ?? null, cause: cause ?? null };
      this.tokens.closeExecution(record.name);
      record.abort();
    }
    // Like AWS, the stop returns once the execution is ABORTED; the backstop runs after, asynchronously.
    await record.ended;
    return { stopDate: record.stopDate ?? new Date() };
  }

  async sendTaskSuccess(taskToken: string, output: string): Promise<void> {
    this.tokens.sendTaskSuccess(taskToken, output);
  }

  async sendTaskFailure(taskToken: string, error?: string, cause?: string): Promise<void> {
    this.tokens.sendTaskFailure(taskToken, error, cause);
  }

  async sendTaskHeartbeat(taskToken: string): Promise<void> {
    this.tokens.sendTaskHeartbeat(taskToken);
  }

  describe(nameOrArn: string): ExecutionDescription {
    return describe(this.record(nameOrArn));
  }

  /** Resolves once the execution ended and its status change reached every matching rule target. */
  async waitForExecution(nameOrArn: string): Promise<ExecutionDescription> {
    return this.record(nameOrArn).settled;
  }

  /** Every execution, newest last. */
  list(): ExecutionDescription[] {
    return [...this.executions.values()].map(describe);
  }

  /** Stops every running execution and waits for all of them (shutdown, test teardown). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.executions.values()]
        .filter((r) => r.status === 'RUNNING')
        .map((r) => this.stopExecution(r.executionArn, 'States.Runtime', 'local platform shut down')),
    );
    await Promise.all([...this.executions.values()].map((r) => r.settled));
  }

  private record(nameOrArn: string): ExecutionRecord {
    const name = nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf(':') + 1) : nameOrArn;
    const record = this.executions.get(name);
    if (!record || (nameOrArn.startsWith('arn:') && record.executionArn !== nameOrArn))
      throw new StepFunctionsError('ExecutionDoesNotExist', `no execution ${nameOrArn}`);
    return record;
  }

  private startRecord(name: string, inputText: string): ExecutionRecord {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new StepFunctionsError('InvalidName', `invalid execution name ${JSON.stringify(name)}`);
    let input: unknown;
    try {
      input = JSON.parse(inputText) as unknown;
    } catch {
      throw new StepFunctionsError('InvalidExecutionInput', 'input is not valid JSON');
    }
    const existing = this.executions.get(name);
    if (existing) {
      // Standard workflows: the same name and input while running is the same execution.
      if (existing.status === 'RUNNING' && existing.inputText === inputText) return existing;
      throw new StepFunctionsError('ExecutionAlreadyExists', `execution ${name} already exists`);
    }

    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${this.extracted.stateMachineName}:${name}`;
    let pendingToken: string | undefined;
    const tokens = this.tokens;
    const taskContext = {
      // `$$.Task.Token`: one token per task state entry, taken by that state's handler.
      get Token(): string {
        pendingToken ??= tokens.issue(name, '');
        return pendingToken;
      },
    };
    const takeToken = (): string | undefined => {
      const token = pendingToken;
      pendingToken = undefined;
      return token;
    };

    const record = {
      name,
      executionArn,
      stateMachineArn: this.stateMachineArn,
      status: 'RUNNING',
      input,
      inputText,
      output: null,
      error: null,
      cause: null,
      startDate: new Date(),
      stopDate: null,
      statesEntered: [],
      stateTransitions: 0,
      deliveryErrors: [],
      abort: () => undefined,
      stopRequest: undefined,
      deliveries: [],
      ended: Promise.resolve(),
      settled: Promise.resolve() as unknown as Promise<ExecutionDescription>,
    } as ExecutionRecord;

    const execution = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.localHandlers(record, takeToken) as never,
        ...(this.options.waitStateMs !== undefined
          ? { waitTimeOverrides: Object.fromEntries(this.prepared.waitStates.map((s) => [s, this.options.waitStateMs!])) }
          : {}),
        ...(this.options.retryIntervalMs !== undefined
          ? { retryIntervalOverrides: Object.fromEntries(this.prepared.retryStates.map((s) => [s, this.options.retryIntervalMs!])) }
          : {}),
      },
      context: {
        Execution: { Id: executionArn, Name: name, Input: structuredClone(input) as never },
        StateMachine: { Id: this.stateMachineArn, Name: this.extracted.stateMachineName },
        Task: taskContext,
      },
    });
    record.abort = execution.abort;
    this.executions.set(name, record);
    this.log('execution started', { execution: name });
    this.deliverStatusChange(record);

    const history = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') record.statesEntered.push(event.state.name);
        if (event.type === 'StateEntered' || event.type === 'StateRetried') record.stateTransitions += 1;
      }
    })();

    record.ended = execution.result.then(
      (output) => this.finish(record, 'SUCCEEDED', { output }),
      (err: unknown) => {
        if (err instanceof ExecutionAbortedError) return this.finish(record, 'ABORTED', record.stopRequest ?? { error: null, cause: null });
        if (err instanceof ExecutionTimeoutError)
          return this.finish(record, 'TIMED_OUT', { error: 'States.Timeout', cause: 'the execution exceeded its TimeoutSeconds' });
        const inner =
          err instanceof ExecutionError && err.cause instanceof Error ? err.cause : err instanceof Error ? err : new Error(String(err));
        return this.finish(record, 'FAILED', { error: inner.name, cause: inner.message });
      },
    );
    record.settled = record.ended.then(async () => {
      // The history closes with the execution, except for an abort that left a task pending.
      if (record.status !== 'ABORTED') await history;
      await Promise.all(record.deliveries);
      return describe(record);
    });
    return record;
  }

  private finish(
    record: ExecutionRecord,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    result: { output?: unknown; error?: string | null; cause?: string | null },
  ): void {
    record.status = status;
    record.stopDate = new Date();
    record.output = result.output ?? null;
    record.error = result.error ?? null;
    record.cause = result.cause ?? null;
    this.tokens.closeExecution(record.name);
    this.log('execution ended', { execution: record.name, status, error: record.error });
    this.deliverStatusChange(record);
  }

  /** The execution's status change to the template's rules (unless status changes are not delivered). */
  private deliverStatusChange(record: ExecutionRecord): void {
    if (this.options.deliverStatusChanges === false) return;
    record.deliveries.push(...this.statusChanges.deliver(record, (failure) => record.deliveryErrors.push(failure)));
  }

  private handlerFor(entry: string): LocalHandler {
    const handler = this.options.handlers[entry];
    if (!handler) throw new Error(`no local handler for ${entry}`);
    return handler;
  }

  /** The per-execution task implementations, keyed by state name (what the library expects). */
  private localHandlers(record: ExecutionRecord, takeToken: () => string | undefined): Record<string, (input: never) => Promise<never>> {
    const handlers: Record<string, (input: never) => Promise<never>> = {};
    // After a stop the library may still enter a retry; a stopped execution starts nothing new.
    const whileRunning = <T>(work: () => Promise<T>): Promise<T> =>
      record.status === 'RUNNING' && !record.stopRequest ? work() : Promise.reject(new ExecutionStoppedError());

    for (const [stateName, state] of this.prepared.taskStates) {
      const resource = z.string().parse(state.Resource);
      const entry = this.extracted.lambdaEntries.get(resource);
      if (entry) {
        const handler = this.handlerFor(entry);
        handlers[stateName] = ((input: unknown) => whileRunning(() => handler(structuredClone(input)))) as never;
      } else if (/^arn:aws:states:::lambda:invoke$/.test(resource)) {
        handlers[stateName] = ((input: unknown) =>
          whileRunning(async () => {
            const { FunctionName, Payload } = z.object({ FunctionName: z.string(), Payload: z.unknown() }).passthrough().parse(input);
            const fnEntry = this.extracted.lambdaEntries.get(FunctionName.replace(/:\$LATEST$/, ''));
            if (!fnEntry) throw new TaskStateError('Lambda.ResourceNotFoundException', `no function ${FunctionName}`);
            return { StatusCode: 200, Payload: await this.handlerFor(fnEntry)(structuredClone(Payload)) };
          })) as never;
      } else if (resource.endsWith('.waitForTaskToken')) {
        const integration = resource === LAMBDA_INVOKE_WAIT ? this.lambdaInvokeIntegration() : this.integrationFor(resource);
        handlers[stateName] = ((input: unknown) =>
          whileRunning(async () => {
            const { Parameters: parameters, TimeoutSeconds, HeartbeatSeconds } = CallbackInput.parse(input);
            const token = takeToken();
            if (!token || !JSON.stringify(parameters).includes(token))
              throw new TaskStateError('States.Runtime', `${stateName} does not pass $$.Task.Token to ${resource}`);
            const scale = this.options.callbackTimeScale ?? 1;
            // A static TimeoutSeconds is the interpreter's own clock (a true States.Timeout, which States.TaskFailed
            // does not match, as on AWS); the token closes just after it, so a late callback gets TaskTimedOut.
            const native = this.prepared.nativeTimeouts.get(stateName);
            const timeoutSeconds =
              native !== undefined
                ? native + NATIVE_TIMEOUT_GRACE_SECONDS
                : TimeoutSeconds !== undefined
                  ? TimeoutSeconds * scale
                  : undefined;
            const completion = this.tokens.wait(
              token,
              {
                ...(timeoutSeconds ? { timeoutSeconds } : {}),
                ...(HeartbeatSeconds ? { heartbeatSeconds: HeartbeatSeconds * scale } : {}),
              },
              stateName,
            );
            completion.catch(() => undefined); // observed below; a task may fail before the integration returns
            try {
              await integration({ executionName: record.name, executionArn: record.executionArn, stateName, parameters, token });
            } catch (err) {
              this.tokens.discard(token);
              throw err;
            }
            return completion;
          })) as never;
      } else {
        const integration = this.integrationFor(resource);
        handlers[stateName] = ((input: unknown) =>
          whileRunning(() =>
            integration({ executionName: record.name, executionArn: record.executionArn, stateName, parameters: input }),
          )) as never;
      }
    }
    return handlers;
  }

  /** lambda:invoke.waitForTaskToken: the function's handler gets the Payload (which carries the token); the state completes through the token. */
  private lambdaInvokeIntegration(): LocalIntegration {
    return async (call) => {
      const { FunctionName, Payload } = z.object({ FunctionName: z.string(), Payload: z.unknown() }).passthrough().parse(call.parameters);
      const fnEntry = this.extracted.lambdaEntries.get(FunctionName.replace(/:\$LATEST$/, ''));
      if (!fnEntry) throw new TaskStateError('Lambda.ResourceNotFoundException', `no function ${FunctionName}`);
      try {
        await this.handlerFor(fnEntry)(structuredClone(Payload));
      } catch (err) {
        // Like Lambda: the function's error fails the state with the error's name as its Error.
        const error = err instanceof Error ? err : new Error(String(err));
        throw new TaskStateError(error.name, error.message);
      }
    };
  }

  private integrationFor(resource: string): LocalIntegration {
    const integration = this.options.integrations?.[resource];
    if (!integration) throw new Error(`no local integration for ${resource}`);
    return integration;
  }

  /** Every task resource must run locally: the library would otherwise call AWS. */
  private requireLocalResource(resource: string): void {
    const entry = this.extracted.lambdaEntries.get(resource);
    if (entry !== undefined) this.handlerFor(entry);
    else if (resource !== 'arn:aws:states:::lambda:invoke' && resource !== LAMBDA_INVOKE_WAIT) this.integrationFor(resource);
  }

  private log(message: string, fields: Record<string, unknown>): void {
    this.options.log?.(message, { stateMachine: this.extracted.stateMachineName, ...fields });
  }
}

function describe(record: ExecutionRecord): ExecutionDescription {
  return {
    name: record.name,
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    status: record.status,
    input: record.input,
    output: record.output,
    error: record.error,
    cause: record.cause,
    startDate: record.startDate,
    stopDate: record.stopDate,
    statesEntered: [...record.statesEntered],
    stateTransitions: record.stateTransitions,
    deliveryErrors: [...record.deliveryErrors],
  };
}
