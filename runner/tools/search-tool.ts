import { runSandboxed } from '../isolation/sandbox';
import type { ToolInput } from './definitions';
import { shellQuote } from './model-output';
import { ok, refused, type ToolContext, type ToolOutcome } from './tool-context';
import { resolveRepoPath } from './workspace-paths';

const SEARCH_TIMEOUT_MS = 30_000;
/** Matches shown in all, and per file; the rest are counted. */
const SHOWN_MATCHES = 100;
const SHOWN_PER_FILE = 10;
/** ripgrep's per-line width cap: a minified line shows its start, not 1 MB. */
const MAX_COLUMNS = 300;

/**
 * `search`: ripgrep (Rust regex syntax: `\d`, `\b`, `(?i)` work) over the repository as the tool
 * user, with a timeout, so a model-written regex never runs inside the runner. It honours
 * `.gitignore` (the checkout's git directory lives elsewhere: `--no-require-git`), searches hidden
 * files except `.git`, caps line width, and answers grouped by file with a count per file and how
 * many matches were not shown.
 */
export async function runSearch(ctx: ToolContext, input: ToolInput<'search'>, started: number): Promise<ToolOutcome> {
  const target = resolveRepoPath(ctx.repoRoot, input.path ?? '.');
  if (!target.exists) return refused(`${target.relative} does not exist`, started);
  const where = target.relative === '' ? '.' : target.relative;
  const command = [
    'rg --no-config --no-require-git --hidden --glob "!.git" --line-number --with-filename --no-heading --color never --null',
    `--max-columns ${MAX_COLUMNS} --max-columns-preview --max-filesize 5M --sort path`,
    `--regexp ${shellQuote(input.pattern)} -- ${shellQuote(where)}`,
  ].join(' ');
  const result = await runSandboxed(
    { command, cwd: ctx.repoRoot, timeoutMs: SEARCH_TIMEOUT_MS, signal: ctx.signal },
    ctx.identity,
    ctx.env,
  );
  if (result.aborted) return { ...refused('search stopped: the run is stopping', started), aborted: true };
  if (result.timedOut) return refused(`search timed out after ${SEARCH_TIMEOUT_MS / 1000} s; narrow the path or the pattern`, started);
  if (result.exitCode === 1)
    return ok(
      `no matches for ${input.pattern} in ${where === '.' ? 'the repository' : where} (files ignored by .gitignore are not searched)`,
      started,
      { exitCode: 1 },
    );
  if (result.exitCode !== 0) return refused(`search failed: ${result.output.split('\n').slice(0, 12).join('\n').trim()}`, started);
  return ok(formatMatches(result.output, input.pattern), started, { exitCode: 0 });
}

/** Groups `path\0line:text` lines by file. */
export function formatMatches(output: string, pattern: string): string {
  const byFile = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const nul = line.indexOf('\0');
    if (nul <= 0) continue;
    const file = line.slice(0, nul).replace(/^\.\//, '');
    const rest = line.slice(nul + 1);
    const colon = rest.indexOf(':');
    const entry = colon > 0 ? `${rest.slice(0, colon).padStart(5)}: ${rest.slice(colon + 1)}` : rest;
    const list = byFile.get(file) ?? [];
    list.push(entry);
    byFile.set(file, list);
  }
  let total = 0;
  for (const list of byFile.values()) total += list.length;
  const parts: string[] = [`${total} match${total === 1 ? '' : 'es'} for ${pattern} in ${byFile.size} file${byFile.size === 1 ? '' : 's'}`];
  let shown = 0;
  let unshownFiles = 0;
  for (const [file, list] of byFile) {
    if (shown >= SHOWN_MATCHES) {
      unshownFiles++;
      continue;
    }
    const take = list.slice(0, Math.min(SHOWN_PER_FILE, SHOWN_MATCHES - shown));
    shown += take.length;
    parts.push(
      `${file} (${list.length} match${list.length === 1 ? '' : 'es'})\n${take.join('\n')}${list.length > take.length ? `\n  … ${list.length - take.length} more in this file not shown` : ''}`,
    );
  }
  if (total > shown)
    parts.push(
      `[${total - shown} more not shown${unshownFiles ? `, in ${unshownFiles} more file${unshownFiles === 1 ? '' : 's'} among them` : ''}; narrow the pattern or the path]`,
    );
  return parts.join('\n');
}
