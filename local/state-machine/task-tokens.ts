import { randomBytes } from 'node:crypto';
import { ExecutionStoppedError, StepFunctionsError, TaskStateError } from './errors';

/** Largest delay a Node timer honours (about 24.8 days); larger ones would fire at once. */
const maxTimerMs = 2_147_483_647;

export interface TokenTimers {
  /** The state's TimeoutSeconds: the task fails with States.Timeout when it elapses. */
  timeoutSeconds?: number;
  /** The state's HeartbeatSeconds: the task fails with States.HeartbeatTimeout when no heartbeat arrives for this long. */
  heartbeatSeconds?: number;
}

interface OpenToken {
  executionName: string;
  stateName: string;
  settle: { resolve: (output: unknown) => void; reject: (error: Error) => void } | undefined;
  timers: NodeJS.Timeout[];
  heartbeatMs: number | undefined;
  heartbeat: NodeJS.Timeout | undefined;
}

/**
 * The task tokens of `.waitForTaskToken` states, with Step Functions' semantics: an unknown token is
 * InvalidToken; a token whose task already ended (success, failure, timeout, heartbeat loss, execution
 * stopped) is TaskTimedOut; SendTaskSuccess output must be JSON; SendTaskHeartbeat restarts the
 * heartbeat clock. Tokens are random and opaque.
 */
export class TaskTokenRegistry {
  private readonly open = new Map<string, OpenToken>();
  private readonly closed = new Set<string>();

  /** A new token for a state about to start; `await` the task with `wait(token, timers)`. */
  issue(executionName: string, stateName: string): string {
    const token = randomBytes(48).toString('base64url');
    this.open.set(token, { executionName, stateName, settle: undefined, timers: [], heartbeatMs: undefined, heartbeat: undefined });
    return token;
  }

  /** Starts the clocks; resolves with the SendTaskSuccess output, rejects with the task's error. */
  wait(token: string, timers: TokenTimers, stateName?: string): Promise<unknown> {
    const entry = this.open.get(token);
    if (!entry) throw new StepFunctionsError('InvalidToken', 'unknown task token');
    if (stateName) entry.stateName = stateName;
    return new Promise<unknown>((resolve, reject) => {
      entry.settle = { resolve, reject };
      if (timers.timeoutSeconds !== undefined) {
        entry.timers.push(
          setTimeout(
            () => this.fail(token, new TaskStateError('States.Timeout', 'the task did not finish within TimeoutSeconds')),
            Math.min(timers.timeoutSeconds * 1000, maxTimerMs),
          ),
        );
      }
      if (timers.heartbeatSeconds !== undefined) {
        entry.heartbeatMs = Math.min(timers.heartbeatSeconds * 1000, maxTimerMs);
        this.restartHeartbeat(token, entry);
      }
    });
  }

  sendTaskSuccess(token: string, output: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(output) as unknown;
    } catch {
      throw new StepFunctionsError('InvalidOutput', 'output is not valid JSON');
    }
    const entry = this.take(token);
    entry.settle?.resolve(parsed);
  }

  sendTaskFailure(token: string, error?: string, cause?: string): void {
    const entry = this.take(token);
    entry.settle?.reject(new TaskStateError(error ?? '', cause ?? ''));
  }

  sendTaskHeartbeat(token: string): void {
    const entry = this.live(token);
    this.restartHeartbeat(token, entry);
  }

  /** Closes every token of a stopped execution: its tasks never complete, late callbacks get TaskTimedOut. */
  closeExecution(executionName: string): void {
    for (const [token, entry] of this.open) {
      if (entry.executionName !== executionName) continue;
      this.clear(entry);
      this.open.delete(token);
      this.closed.add(token);
      entry.settle?.reject(new ExecutionStoppedError());
    }
  }

  /** Tokens still waiting for a callback (for tests and diagnostics). */
  openTokens(executionName?: string): { token: string; executionName: string; stateName: string }[] {
    return [...this.open.entries()]
      .filter(([, e]) => !executionName || e.executionName === executionName)
      .map(([token, e]) => ({ token, executionName: e.executionName, stateName: e.stateName }));
  }

  /** Abandons a token whose task never started (the integration call failed). */
  discard(token: string): void {
    const entry = this.open.get(token);
    if (!entry) return;
    this.clear(entry);
    this.open.delete(token);
    this.closed.add(token);
  }

  private fail(token: string, error: Error): void {
    const entry = this.open.get(token);
    if (!entry) return;
    this.take(token);
    entry.settle?.reject(error);
  }

  private restartHeartbeat(token: string, entry: OpenToken): void {
    if (entry.heartbeatMs === undefined) return;
    if (entry.heartbeat) clearTimeout(entry.heartbeat);
    entry.heartbeat = setTimeout(
      () => this.fail(token, new TaskStateError('States.HeartbeatTimeout', 'no heartbeat within HeartbeatSeconds')),
      entry.heartbeatMs,
    );
  }

  private live(token: string): OpenToken {
    const entry = this.open.get(token);
    if (entry) return entry;
    if (this.closed.has(token)) throw new StepFunctionsError('TaskTimedOut', 'the task of this token already ended');
    throw new StepFunctionsError('InvalidToken', 'unknown task token');
  }

  private take(token: string): OpenToken {
    const entry = this.live(token);
    this.clear(entry);
    this.open.delete(token);
    this.closed.add(token);
    return entry;
  }

  private clear(entry: OpenToken): void {
    for (const timer of entry.timers) clearTimeout(timer);
    if (entry.heartbeat) clearTimeout(entry.heartbeat);
    entry.timers = [];
    entry.heartbeat = undefined;
  }
}
