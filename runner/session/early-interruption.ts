import { newRunId } from '../../core/runs/run-id';
import { TaskNoLongerWaitedError } from '../task-callbacks';
import type { RunContext } from './run-context';
import type { RunEnd } from './run-errors';

/**
 * SIGTERM before the agent loop started (clone, setup, the tests at base; a Fargate Spot interruption
 * in practice, docs/inbox.md#resume-without-a-human): nothing of the agent's exists yet, so nothing
 * needs a checkpoint and nothing is lost by starting the task over. The runner reports an
 * `interrupted` pause with no checkpoint, and the orchestrator resumes the run at once without a
 * human, as after an interruption in the loop (core/runs/automatic-resume.ts): the next task starts
 * on the branch the run had when this task started (a continued or resumed run's branch, pushed
 * before), from the checkpoint it was resuming from if any; a new run's branch, which this task
 * created only in its checkout and never pushed, is made again. Nothing is pushed here: the
 * checkout holds no agent work (what setup changed in it is not work to keep).
 *
 * Undefined (the run ends as before) for a cancel, once the state machine no longer waits on the
 * task, for a review run (it pushes nothing and posts at its end), and once the loop started (the
 * loop's own interruption checkpoints: runner/session/interruption.ts).
 */
export function startOverAfterEarlyInterruption(ctx: RunContext, err: unknown, options: { loopStarted?: boolean }): RunEnd | undefined {
  if (options.loopStarted || !ctx.deps.stop.aborted || !ctx.hasRun) return undefined;
  if (err instanceof TaskNoLongerWaitedError || ctx.run.runKind === 'review') return undefined;
  const why = err instanceof Error ? err.message : 'stopped';
  if (/cancel-requested|CANCELLED/.test(why)) return undefined;
  const message = ctx.redactor
    .redact(`the runner task was interrupted (SIGTERM) before its agent loop started (${why}); nothing was lost, the task starts over`)
    .slice(0, 4_000);
  return {
    kind: 'paused',
    report: {
      pause: {
        itemId: newRunId(),
        reason: 'interrupted',
        message,
        details: { beforeLoop: true },
        branch: ctx.run.branch,
        checkpoint: null,
      },
    },
  };
}
