import { runningComment } from '../../core/github/run-status';
import type { GithubApi } from '../github/github-api';
import type { RunContext } from './run-context';

/** A running run edits its status comment at most this often (turns can be seconds apart). */
export const STATUS_EDIT_INTERVAL_MS = 20_000;

/**
 * The "running" stage of a GitHub run's one status comment (core/github/run-status.ts): the runner
 * edits it with its turns and cost so far, with its own run token (issues write), the only way it
 * reaches GitHub. The webhook function posted it (queued) and writes the result when the run ends.
 * A failed edit is logged and never ends the run: it is a courtesy, not the run's outcome.
 */
export class StatusProgress {
  private lastEditAt: number | undefined;
  private commentId: number | null | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly github: GithubApi,
    private readonly now: () => number = Date.now,
  ) {}

  /** Edits the comment: always for the first report, then once `STATUS_EDIT_INTERVAL_MS` have passed. */
  async report(turns: number, spentMicros: number): Promise<void> {
    const { run } = this.ctx;
    if (!run.thread) return;
    if (this.lastEditAt !== undefined && this.now() - this.lastEditAt < STATUS_EDIT_INTERVAL_MS) return;
    this.lastEditAt = this.now();
    try {
      // The webhook stores the id just after submitting: a runner that started first reads it again.
      this.commentId ??= run.statusCommentId ?? null;
      if (this.commentId === null) this.commentId = (await this.ctx.deps.runs.get(run.runId))?.statusCommentId ?? null;
      if (this.commentId === null) {
        this.commentId = undefined;
        return;
      }
      await this.github.updateIssueComment(
        this.commentId,
        runningComment({ runId: run.runId, turns, spentMicros, budgetMicros: run.budgetMicros }),
      );
    } catch (err) {
      this.ctx.log.warn('could not edit the status comment', { error: this.ctx.redactor.redact((err as Error).message) });
    }
  }
}
