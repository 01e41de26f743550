import * as z from 'zod';
import { toolInputs, type ToolInput, type ToolName } from './definitions';
import { editFile, listFiles, readFile, writeFile } from './file-tools';
import { runSearch } from './search-tool';
import { runShell } from './shell-tool';
import { ok, refused, ToolRefusal, type ToolContext, type ToolOutcome } from './tool-context';
import { PathRefusedError } from './workspace-paths';

export type { ToolContext, ToolControl, ToolOutcome } from './tool-context';

/**
 * Runs one tool call: the input checked against its schema, then the tool's module (file-tools.ts,
 * shell-tool.ts, search-tool.ts; file access through file-access.ts). Invalid input and refusals are
 * reported to the model as errors, never thrown.
 */
export async function executeTool(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  const started = Date.now();
  if (!(name in toolInputs)) return refused(`unknown tool "${name}"`, started);
  const parsed = toolInputs[name as ToolName].safeParse(rawInput);
  if (!parsed.success) return refused(`invalid input for ${name}: ${z.prettifyError(parsed.error)}`, started);
  try {
    switch (name as ToolName) {
      case 'shell':
        return await runShell(ctx, parsed.data as ToolInput<'shell'>);
      case 'read_file':
        return readFile(ctx, parsed.data as ToolInput<'read_file'>, started);
      case 'write_file':
        return writeFile(ctx, parsed.data as ToolInput<'write_file'>, started);
      case 'edit_file':
        return editFile(ctx, parsed.data as ToolInput<'edit_file'>, started);
      case 'list_files':
        return await listFiles(ctx, parsed.data as ToolInput<'list_files'>, started);
      case 'search':
        return await runSearch(ctx, parsed.data as ToolInput<'search'>, started);
      case 'finish': {
        const input = parsed.data as z.infer<typeof toolInputs.finish>;
        return ok('the runner will now run the tests, commit, push and open the draft pull request', started, {
          control: { kind: 'finish', summary: input.summary, risks: input.risks ?? null },
        });
      }
      case 'ask_human': {
        const input = parsed.data as z.infer<typeof toolInputs.ask_human>;
        return ok('the question went to a human; the run pauses until the answer comes back as this result', started, {
          control: { kind: 'ask_human', question: input.question },
        });
      }
    }
  } catch (err) {
    if (err instanceof PathRefusedError || err instanceof ToolRefusal) return refused(err.message, started);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return refused('refused: the path is a symlink', started);
    if (code === 'ENXIO') return refused('refused: not a regular file (a FIFO or socket)', started);
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES')
      return refused(`${name} failed: ${code}`, started);
    throw err;
  }
  return refused(`unknown tool "${name}"`, started);
}
