import { isTerminal } from '../core/runs/lifecycle';
import type { RunEvent, RunView } from '../core/runs/schemas';
import type { ApiClient } from './api-client';

export interface FollowOptions {
  pollMs?: number;
  /** Each new event of the run's timeline, oldest first. */
  onEvent?: (event: RunEvent) => void;
  /** The run after every poll, with the number of model turns so far and what runs now (a tool_start not yet ended), if anything. */
  onProgress?: (run: RunView, turns: number, activity: string | undefined) => void;
  signal?: AbortSignal;
}

/**
 * Follows a run until it ends: polls the run and its events, hands every new event over exactly once,
 * and returns the final run. Events are read after the run reached its terminal status, so the timeline
 * printed is complete.
 */
export async function followRun(client: ApiClient, runId: string, options: FollowOptions = {}): Promise<RunView> {
  const pollMs = options.pollMs ?? 1_000;
  const reader = new EventReader(client, runId);
  let turns = 0;
  let activity: string | undefined;
  for (;;) {
    const run = await client.getRun(runId);
    for (const event of await reader.readNew()) {
      if (event.type === 'model_turn') turns++;
      // A tool_start holds until the step ends: its tool_call or test_result, or the next model turn.
      if (event.type === 'tool_start') activity = event.message;
      else if (event.type === 'tool_call' || event.type === 'test_result' || event.type === 'model_turn') activity = undefined;
      options.onEvent?.(event);
    }
    options.onProgress?.(run, turns, isTerminal(run.status) ? undefined : activity);
    if (isTerminal(run.status)) return run;
    await delay(pollMs, options.signal);
  }
}

/** Reads a run's timeline incrementally: each event once, in order, across pages and polls. */
export class EventReader {
  private pageCursor: string | undefined;
  private lastSeq = '';

  constructor(
    private readonly client: ApiClient,
    private readonly runId: string,
  ) {}

  async readNew(): Promise<RunEvent[]> {
    const fresh: RunEvent[] = [];
    for (;;) {
      const page = await this.client.events(this.runId, { ...(this.pageCursor ? { cursor: this.pageCursor } : {}), limit: 500 });
      // Sequence numbers are ULIDs: ordered, so "newer than the last one seen" is a string comparison.
      for (const event of page.events) {
        if (event.seq > this.lastSeq) {
          fresh.push(event);
          this.lastSeq = event.seq;
        }
      }
      if (!page.nextCursor) return fresh;
      this.pageCursor = page.nextCursor;
    }
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
