import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runSandboxed } from '../isolation/sandbox';
import type { ToolInput } from './definitions';
import { MAX_TOOL_OUTPUT_CHARS } from './model-output';
import type { ToolContext, ToolOutcome } from './tool-context';

/** A command's default timeout; the suite may need more (the prompt says how to raise it). */
export const DEFAULT_SHELL_TIMEOUT_SECONDS = 300;

/**
 * `shell`: one fresh bash in the repository root as the tool user. The answer starts with how the
 * command ended; an empty output says so; output too long to show is cut to its head and tail and
 * saved whole to a file the answer names, so the model can read the rest with `sed -n` or `grep`.
 */
export async function runShell(ctx: ToolContext, input: ToolInput<'shell'>): Promise<ToolOutcome> {
  const timeoutSeconds = input.timeoutSeconds ?? ctx.defaultTimeoutSeconds ?? DEFAULT_SHELL_TIMEOUT_SECONDS;
  const result = await runSandboxed(
    { command: input.command, cwd: ctx.repoRoot, timeoutMs: timeoutSeconds * 1_000, signal: ctx.signal },
    ctx.identity,
    ctx.env,
  );
  const status = result.timedOut
    ? `killed after the ${timeoutSeconds} s timeout (with every process it started); give timeoutSeconds (at most 1800) for a longer command`
    : result.aborted
      ? 'killed: the run is stopping'
      : result.exitCode !== null
        ? `exit code ${result.exitCode}`
        : `killed by ${result.killedBy}`;
  const text =
    result.output === ''
      ? `${status}${result.exitCode === 0 ? ' (succeeded with no output)' : ' (no output)'}`
      : `${status}\n${shownOutput(ctx, result.output)}`;
  return {
    text,
    isError: result.exitCode !== 0,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    aborted: result.aborted,
    durationMs: result.durationMs,
  };
}

/** The output as the model sees it: whole, or head and tail with the saved file named. */
function shownOutput(ctx: ToolContext, output: string): string {
  const budget = MAX_TOOL_OUTPUT_CHARS - 600;
  if (output.length <= budget) return output;
  const head = output.slice(0, Math.floor(budget * 0.4));
  const tail = output.slice(output.length - Math.floor(budget * 0.6));
  const totalLines = output.split('\n').length;
  const headLines = head.split('\n').length;
  const tailFrom = totalLines - tail.split('\n').length + 1;
  const saved = saveOutput(ctx.outputDir, output);
  const where = saved
    ? `the whole output (${totalLines} lines) is saved in ${saved}: read the middle with shell, e.g. \`sed -n '${headLines},${tailFrom}p' ${saved}\` or \`grep -n PATTERN ${saved}\``
    : 'rerun the command with narrower output (grep, head, tail) to see the middle';
  return `${head}\n[... ${output.length - head.length - tail.length} characters (about lines ${headLines}-${tailFrom}) not shown; ${where} ...]\n${tail}`;
}

/**
 * Writes the output to `<outputDir>/shell-NNNN.log`. The directory is the runner's (created 0755
 * outside the checkout, never a symlink) and files are created exclusively without following
 * links, so the tool user can read them but not redirect or change them. Undefined when it cannot.
 */
function saveOutput(outputDir: string, output: string): string | undefined {
  try {
    mkdirSync(outputDir, { recursive: true, mode: 0o755 });
    const stat = lstatSync(outputDir);
    if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid())) return undefined;
    const file = join(outputDir, `shell-${String(readdirSync(outputDir).length + 1).padStart(4, '0')}.log`);
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, output);
    } finally {
      closeSync(fd);
    }
    return file;
  } catch {
    return undefined;
  }
}
