import { lstatSync } from 'node:fs';
import { Script } from 'node:vm';
import { parseDocument } from 'yaml';
import type { ToolInput } from './definitions';
import { assertWritable, makeParents, readNoFollow, writeNoFollow } from './file-access';
import { globToRegExp } from './protected-paths';
import { ok, refused, type ToolContext, type ToolOutcome } from './tool-context';
import { resolveRepoPath } from './workspace-paths';

/**
 * read_file, write_file, edit_file and list_files: each answer says what happened in terms the model
 * can act on next (line numbers, counts, what to try when something does not match).
 */

/** Lines `read_file` shows without a range. */
export const READ_WINDOW_LINES = 500;
/** Lines of context around an edit in `edit_file`'s answer. */
const EDIT_CONTEXT_LINES = 3;
const MAX_LISTED = 500;

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function numberedLines(lines: readonly string[], start: number, end: number): string {
  return lines
    .slice(start - 1, end)
    .map((line, i) => `${String(start + i).padStart(5)}| ${line}`)
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function readFile(ctx: ToolContext, input: ToolInput<'read_file'>, started: number): ToolOutcome {
  const target = resolveRepoPath(ctx.repoRoot, input.path);
  if (!target.exists) return refused(`${target.relative} does not exist; list_files shows what does`, started);
  if (lstatSync(target.absolute).isDirectory())
    return refused(`${target.relative} is a directory; use list_files with path "${target.relative}"`, started);
  if (input.startLine !== undefined && input.endLine !== undefined && input.endLine < input.startLine)
    return refused(`endLine ${input.endLine} is before startLine ${input.startLine}: give startLine ≤ endLine`, started);
  const lines = splitLines(readNoFollow(target.absolute));
  const total = lines.length;
  if (total === 0 || (total === 1 && lines[0] === '')) return ok(`${target.relative}: the file is empty`, started);
  const start = input.startLine ?? 1;
  if (start > total)
    return refused(`startLine ${start} is past the end of ${target.relative}, which has ${plural(total, 'line')}`, started);
  const end = Math.min(input.endLine ?? start + READ_WINDOW_LINES - 1, total);
  const header = `${target.relative}: lines ${start}-${end} of ${total}`;
  const more = end < total ? `\n[${plural(total - end, 'more line')}: read_file with startLine ${end + 1} to continue]` : '';
  return ok(`${header}\n${numberedLines(lines, start, end)}${more}`, started);
}

export function writeFile(ctx: ToolContext, input: ToolInput<'write_file'>, started: number): ToolOutcome {
  const target = assertWritable(ctx, input.path);
  const before = target.exists ? splitLines(readNoFollow(target.absolute)).length : undefined;
  makeParents(ctx, target.absolute);
  writeNoFollow(target.absolute, input.content, ctx.identity);
  const now = `${plural(splitLines(input.content).length, 'line')}, ${plural(Buffer.byteLength(input.content), 'byte')}`;
  return ok(
    before === undefined
      ? `created ${target.relative} (${now})`
      : `overwrote ${target.relative} (was ${plural(before, 'line')}; now ${now})`,
    started,
  );
}

/** The 1-based line on which a character offset falls. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) at.push(i);
  return at;
}

/** Why `oldText` did not match, when a near miss explains it. */
function missHint(text: string, oldText: string): string {
  const prefixed = oldText.split('\n').filter((l) => l.trim() !== '');
  if (prefixed.length && prefixed.every((l) => /^\s*\d+\| /.test(l)))
    return 'oldText starts its lines with read_file\u2019s line-number prefix ("   12| "): leave the prefix out and copy only the file\u2019s text.';
  if (text.includes('\r\n') && !oldText.includes('\r\n') && text.includes(oldText.replace(/\n/g, '\r\n')))
    return 'the file uses CRLF line endings: oldText matches with \\r\\n line ends; give newText the same line endings.';
  const squash = (s: string) =>
    s
      .split(/\r?\n/)
      .map((l) => l.trim())
      .join('\n');
  const wanted = squash(oldText);
  const fileLines = text.split(/\r?\n/);
  const oldCount = oldText.split(/\r?\n/).length;
  for (let i = 0; i + oldCount <= fileLines.length; i++) {
    if (squash(fileLines.slice(i, i + oldCount).join('\n')) === wanted) {
      const indent = fileLines.slice(i, i + oldCount).some((l) => l.startsWith('\t')) ? 'tabs' : 'spaces';
      return `oldText matches lines ${i + 1}-${i + oldCount} only when leading and trailing whitespace is ignored: copy them exactly (the file indents with ${indent}).`;
    }
  }
  return 'read_file the region again and copy oldText exactly as it is now (the file may have changed since you read it).';
}

/** Languages the runner can parse without running anything: an edit that breaks a file that parsed is refused. */
function syntaxError(path: string, text: string): string | undefined {
  try {
    if (/\.json$/i.test(path)) JSON.parse(text);
    else if (/\.ya?ml$/i.test(path)) {
      const doc = parseDocument(text);
      if (doc.errors.length) return doc.errors[0]!.message.split('\n')[0];
    } else if (/\.c?js$/i.test(path)) new Script(text.replace(/^#!.*/, ''), { filename: path });
    else return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
  return undefined;
}

export function editFile(ctx: ToolContext, input: ToolInput<'edit_file'>, started: number): ToolOutcome {
  const target = assertWritable(ctx, input.path);
  if (!target.exists) return refused(`${target.relative} does not exist; create it with write_file`, started);
  const text = readNoFollow(target.absolute);
  const at = occurrences(text, input.oldText);
  if (at.length === 0) return refused(`oldText was not found in ${target.relative}. ${missHint(text, input.oldText)}`, started);
  if (at.length > 1) {
    const lines = at.slice(0, 20).map((i) => lineAt(text, i));
    return refused(
      `oldText occurs ${at.length} times in ${target.relative} (at lines ${lines.join(', ')}${at.length > 20 ? ', …' : ''}); include more of the surrounding lines so that it occurs once`,
      started,
    );
  }
  const index = at[0]!;
  const updated = text.slice(0, index) + input.newText + text.slice(index + input.oldText.length);
  const broken = syntaxError(target.relative, updated);
  if (broken && !syntaxError(target.relative, text))
    return refused(`edit not applied: ${target.relative} would no longer parse (${broken}); the file is unchanged`, started);
  writeNoFollow(target.absolute, updated, ctx.identity);
  const lines = splitLines(updated);
  const first = lineAt(updated, index);
  const last = Math.max(first, lineAt(updated, index + Math.max(0, input.newText.length - 1)));
  const from = Math.max(1, first - EDIT_CONTEXT_LINES);
  const to = Math.min(lines.length, last + EDIT_CONTEXT_LINES);
  return ok(`edited ${target.relative}; lines ${from}-${to} of ${lines.length} now read:\n${numberedLines(lines, from, to)}`, started);
}

/** The git view of the tree under a directory: files tracked or untracked (not ignored), and their directories. */
export async function listFiles(ctx: ToolContext, input: ToolInput<'list_files'>, started: number): Promise<ToolOutcome> {
  const target = resolveRepoPath(ctx.repoRoot, input.path ?? '.');
  if (!target.exists) return refused(`${target.relative} does not exist`, started);
  const dir = target.relative;
  const existing = (await ctx.gitFiles()).filter((f) => {
    try {
      lstatSync(`${ctx.repoRoot}/${f}`);
      return true;
    } catch {
      return false;
    }
  });
  if (!lstatSync(target.absolute).isDirectory())
    return ok(existing.includes(dir) ? dir : `${dir} exists but is ignored by .gitignore`, started);
  const under = dir === '' ? existing : existing.filter((f) => f.startsWith(`${dir}/`));
  const matcher = input.pattern ? globToRegExp(input.pattern) : undefined;
  const files = matcher
    ? under.filter((f) => matcher.test(f) || (!input.pattern!.includes('/') && matcher.test(f.split('/').pop()!)))
    : under;
  if (files.length === 0)
    return ok(
      input.pattern
        ? `no files under ${dir || 'the repository root'} match ${input.pattern}`
        : `${dir || 'the repository'} has no files (ignored files are not listed)`,
      started,
    );
  const entries = new Set<string>();
  for (const file of files.sort()) {
    const parts = file.split('/');
    for (let i = dir === '' ? 1 : dir.split('/').length + 1; i < parts.length; i++) entries.add(`${parts.slice(0, i).join('/')}/`);
    entries.add(file);
  }
  const sorted = [...entries].sort();
  const shown = sorted.slice(0, MAX_LISTED);
  const more = sorted.length > MAX_LISTED ? `\n[${sorted.length - MAX_LISTED} more not shown; narrow the path or the pattern]` : '';
  return ok(
    `${plural(files.length, 'file')}${input.pattern ? ` matching ${input.pattern}` : ''} under ${dir || 'the repository root'} (git view: ignored files left out; directories end with /):\n${shown.join('\n')}${more}`,
    started,
  );
}
