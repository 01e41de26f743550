import type { QueueMovedAnnouncer } from '../inbox/inbox-notification';
import type { RunEventLog } from '../store/ports';
import type { RunQueuePort } from '../store/run-queue-port';

/**
 * Telling the queued runs' status comments that their place changed (docs/github-app.md#the-queue-position).
 * The queue moves when an entry leaves it (its run was admitted or ended: the runs behind move up) or
 * when a new one lands ahead of others (a higher priority, a resumed run keeping its place: the runs
 * behind move back). Only moves within the first QUEUE_COMMENT_WINDOW places are announced, once per
 * move; the GitHub webhook function then reads the head of the queue and edits the comments whose
 * shown place is no longer true (core/github/queue-comments.ts).
 */

/** How far into the queue a status comment's place is kept true. */
export const QUEUE_COMMENT_WINDOW = 10;

export interface QueueMoveDeps {
  queue: Pick<RunQueuePort, 'remove' | 'head'>;
  events: Pick<RunEventLog, 'append'>;
  /** Set where the GitHub webhook function listens (config `github.webhookSecret`); absent, nothing is announced. */
  announceQueueMoved?: QueueMovedAnnouncer;
}

/** Takes the run out of the queue; if it was in it, the runs behind it moved up. Idempotent. */
export async function leaveQueue(
  deps: Omit<QueueMoveDeps, 'queue'> & { queue: Pick<RunQueuePort, 'remove'> },
  runId: string,
): Promise<void> {
  if ((await deps.queue.remove(runId)) && deps.announceQueueMoved) await announce(deps, runId);
}

/**
 * A run was put in the queue at `position`: announced only when it is within the window and a run
 * waits behind it there (one short read of the queue's head); a run at the end moved nobody.
 */
export async function arrivedInQueue(deps: QueueMoveDeps, runId: string, position: number): Promise<void> {
  if (!deps.announceQueueMoved || position >= QUEUE_COMMENT_WINDOW) return;
  const head = await deps.queue.head(position + 1);
  if (head.length > position) await announce(deps, runId);
}

/** A courtesy to GitHub readers: a failed publish is noted on the run's timeline and fails nothing (the queue's next move corrects the comments). */
async function announce(deps: Pick<QueueMoveDeps, 'events' | 'announceQueueMoved'>, runId: string): Promise<void> {
  try {
    await deps.announceQueueMoved?.();
  } catch (err) {
    await deps.events.append(
      runId,
      'note',
      `the queue move could not be announced to the status comments: ${err instanceof Error ? err.name : 'error'}`,
    );
  }
}
