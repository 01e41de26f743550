import { IllegalTransitionError } from '../runs/lifecycle';
import { QUEUE_COMMENT_WINDOW } from '../runs/queue-moves';
import type { RunRecord, RunRepository } from '../store/ports';
import type { QueueEntry, RunQueuePort } from '../store/run-queue-port';
import type { GithubRepoPort } from './github-port';
import { queuedComment } from './run-status';

/**
 * The queued status comments kept true as the queue moves (docs/github-app.md#the-queue-position).
 * On each announced move (core/runs/queue-moves.ts), the webhook function reads the first
 * QUEUE_COMMENT_WINDOW entries of the queue (one Query, no scan) and their runs, and edits the comments
 * whose shown place changed, nearest the head first, at most MAX_QUEUE_EDITS per move so a busy queue
 * stays within GitHub's limits on content writes. A comment further back keeps the place it last
 * showed until it comes within reach.
 */

/** Comment edits one queue move may make. */
export const MAX_QUEUE_EDITS = 5;

export interface QueueCommentEdit {
  runId: string;
  repo: string;
  commentId: number;
  /** The place the comment shows now, and the one it should. */
  shown: number;
  position: number;
  budgetMicros: number;
}

/**
 * Which comments to edit (pure): runs still QUEUED whose comment shows a place (`statusCommentPosition`
 * is set only by the comments that show one: not "behind run X of this thread", "waiting" or
 * "resumed") that is no longer their place in the queue.
 */
export function queueCommentEdits(entries: readonly QueueEntry[], runs: ReadonlyMap<string, RunRecord>): QueueCommentEdit[] {
  const edits: QueueCommentEdit[] = [];
  entries.slice(0, QUEUE_COMMENT_WINDOW).forEach((entry, i) => {
    const run = runs.get(entry.runId);
    const position = i + 1;
    if (
      !run ||
      run.status !== 'QUEUED' ||
      !run.statusCommentId ||
      run.statusCommentPosition == null ||
      run.statusCommentPosition === position
    )
      return;
    edits.push({
      runId: run.runId,
      repo: run.repo,
      commentId: run.statusCommentId,
      shown: run.statusCommentPosition,
      position,
      budgetMicros: run.budgetMicros,
    });
  });
  return edits.slice(0, MAX_QUEUE_EDITS);
}

export interface QueueCommentDeps {
  queue: Pick<RunQueuePort, 'head'>;
  runs: Pick<RunRepository, 'get' | 'patch'>;
  github(repo: string): Promise<GithubRepoPort>;
}

/**
 * Edits the queued comments whose place changed. The place is stored first, conditionally on the run
 * still being QUEUED, so a run admitted meanwhile keeps the comment its runner writes; the edit follows
 * at once, long before a new runner task writes "running". A failed edit puts the old place back and
 * throws, so the asynchronous invocation is retried.
 */
export async function reportQueueMoved(deps: QueueCommentDeps): Promise<{ edited: string[] }> {
  const entries = await deps.queue.head(QUEUE_COMMENT_WINDOW);
  const runs = new Map<string, RunRecord>();
  for (const entry of entries) {
    const run = await deps.runs.get(entry.runId);
    if (run) runs.set(run.runId, run);
  }
  const edited: string[] = [];
  for (const edit of queueCommentEdits(entries, runs)) {
    try {
      await deps.runs.patch(edit.runId, { statusCommentPosition: edit.position }, { whileStatus: 'QUEUED' });
    } catch (err) {
      if (err instanceof IllegalTransitionError) continue;
      throw err;
    }
    try {
      const github = await deps.github(edit.repo);
      await github.editComment(
        edit.commentId,
        queuedComment({ runId: edit.runId, behind: null, position: edit.position, budgetMicros: edit.budgetMicros }),
      );
    } catch (err) {
      // The comment still shows its old place: say so, so that the next move edits it again.
      await deps.runs.patch(edit.runId, { statusCommentPosition: edit.shown }, { whileStatus: 'QUEUED' }).catch(() => undefined);
      throw err;
    }
    edited.push(edit.runId);
  }
  return { edited };
}
