import type { RunContext } from './run-context';
import type { PreparedRun } from './prepared-run';

/**
 * The end of a plan run's plan phase (a pause, or the loop ending before the plan was approved):
 * whatever the shell changed in the checkout is discarded, so that nothing of the exploration is
 * committed or pushed (write_file and edit_file are refused in that phase; the shell cannot be, as
 * it is how the agent reads, builds and runs the tests). Ignored files (dependencies, build output)
 * stay. A failure is said in the timeline and leaves the commit step to find the changes.
 */
export async function discardPlanPhaseChanges(ctx: RunContext, prepared: PreparedRun): Promise<void> {
  const { git } = prepared.repo;
  try {
    const status = await git.run(['status', '--porcelain', '--untracked-files=all']);
    if (status.trim() === '') return;
    await git.run(['reset', '--hard', '--quiet', 'HEAD']);
    await git.run(['clean', '-fd', '--quiet']);
    const files = status.split('\n').filter((l) => l.trim() !== '').length;
    await ctx.emit(
      'note',
      `plan phase: discarded what the shell changed in ${files} file${files === 1 ? '' : 's'} (nothing changes before the plan is approved)`,
      { files },
    );
  } catch (err) {
    await ctx.emit('note', `plan phase: the shell's changes could not be discarded: ${ctx.redactor.redact((err as Error).message)}`, {});
  }
}
