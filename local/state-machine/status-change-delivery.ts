import { randomUUID } from 'node:crypto';
import { matchesEventPattern } from './event-pattern';
import { LOCAL_ACCOUNT, LOCAL_REGION, type StatusChangeRule } from './template';

/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_INVOKE_ATTEMPTS = 3;

/** An execution as its status-change event describes it. */
export interface ExecutionStatusChange {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: string;
  readonly startDate: Date;
  readonly stopDate: Date | null;
  /** The execution's input, as it was started with. */
  readonly inputText: string;
  readonly output: unknown;
  readonly error: string | null;
  readonly cause: string | null;
}

export interface StatusChangeDeliveryOptions {
  /** The template's EventBridge rules on the state machine's executions. */
  rules: readonly StatusChangeRule[];
  /** The in-process handler of a rule target's handler module; throws when there is none. */
  handlerFor: (entry: string) => (event: unknown) => Promise<unknown>;
  log: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * EventBridge for the executor: "Step Functions Execution Status Change" to every rule of the template
 * whose pattern matches, each target invoked asynchronously with Lambda's retries (the backstop).
 */
export class StatusChangeDelivery {
  constructor(private readonly options: StatusChangeDeliveryOptions) {
    // Every target must run locally, checked when the executor is built rather than at the first change.
    for (const rule of options.rules) for (const entry of rule.targetEntries) options.handlerFor(entry);
  }

  /**
   * Delivers the execution's current status; one promise per matching target, resolved when its
   * delivery finished. A target that fails every attempt is reported to `onFailure`.
   */
  deliver(change: ExecutionStatusChange, onFailure: (failure: string) => void): Promise<void>[] {
    const event = statusChangeEvent(change);
    const deliveries: Promise<void>[] = [];
    for (const rule of this.options.rules) {
      if (!matchesEventPattern(rule.pattern, event)) continue;
      for (const entry of rule.targetEntries) deliveries.push(this.invokeAsync(rule, entry, event, onFailure));
    }
    return deliveries;
  }

  private async invokeAsync(rule: StatusChangeRule, entry: string, event: unknown, onFailure: (failure: string) => void): Promise<void> {
    const handler = this.options.handlerFor(entry);
    let lastError: unknown;
    for (let attempt = 1; attempt <= ASYNC_INVOKE_ATTEMPTS; attempt++) {
      try {
        await handler(structuredClone(event));
        return;
      } catch (err) {
        lastError = err;
        this.options.log('rule target failed', {
          rule: rule.logicalId,
          entry,
          attempt,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    }
    onFailure(
      `${rule.logicalId} → ${entry}: ${lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError)}`,
    );
  }
}

/** The event EventBridge sends for an execution's status change. */
function statusChangeEvent(change: ExecutionStatusChange): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [change.executionArn],
    detail: {
      executionArn: change.executionArn,
      stateMachineArn: change.stateMachineArn,
      name: change.name,
      status: change.status,
      startDate: change.startDate.getTime(),
      stopDate: change.stopDate?.getTime() ?? null,
      input: change.inputText,
      output: change.output === null ? null : JSON.stringify(change.output),
      error: change.error,
      cause: change.cause,
    },
  };
}
