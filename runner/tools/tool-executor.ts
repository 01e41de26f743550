import { type Dirent, closeSync, constants, fstatSync, ftruncateSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { runSandboxed } from '../isolation/sandbox';
import type { ToolIdentity } from '../isolation/tool-identity';
import { toolInputs, type ToolName } from './definitions';
import { shellQuote, truncateForModel } from './model-output';
import { globToRegExp, type ProtectedPaths } from './protected-paths';
import { existingParent, PathRefusedError, resolveRepoPath } from './workspace-paths';

export interface ToolContext {
  repoRoot: string;
  protectedPaths: ProtectedPaths;
  identity: ToolIdentity;
  env: Record<string, string>;
  /** SIGTERM of the runner: kills a running command. */
  signal: AbortSignal;
  defaultTimeoutSeconds?: number;
}

export type ToolControl = { kind: 'finish'; summary: string; risks: string | null } | { kind: 'ask_human'; question: string };

export interface ToolOutcome {
  /** What the model sees (already truncated). */
  text: string;
  isError: boolean;
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  control?: ToolControl;
}

const MAX_READ_BYTES = 5 * 1024 * 1024;
const MAX_LISTED = 1_000;

class ToolRefusal extends Error {}

function ok(text: string, started: number, extra: Partial<ToolOutcome> = {}): ToolOutcome {
  return { text: truncateForModel(text), isError: false, exitCode: null, timedOut: false, aborted: false, durationMs: Date.now() - started, ...extra };
}

function refused(text: string, started: number): ToolOutcome {
  return { text, isError: true, exitCode: null, timedOut: false, aborted: false, durationMs: Date.now() - started };
}

/** Files the runner writes for the model belong to the tool user, so later commands can change them. */
function giveToTools(path: string, identity: ToolIdentity): void {
  if (identity.kind === 'separate') lchownSync(path, identity.uid, identity.gid);
}

function assertWritable(ctx: ToolContext, requested: string) {
  const target = resolveRepoPath(ctx.repoRoot, requested);
  const glob = ctx.protectedPaths.match(target.relative);
  if (glob) throw new ToolRefusal(`refused: ${target.relative} is a protected path (${glob}); the runner will not change it`);
  if (target.exists && lstatSync(target.absolute).isDirectory()) throw new ToolRefusal(`refused: ${target.relative} is a directory`);
  return target;
}

function makeParents(ctx: ToolContext, file: string): void {
  const base = existingParent(file);
  const missing = relative(base, file).split(sep).slice(0, -1);
  let dir = base;
  for (const part of missing) {
    dir = join(dir, part);
    mkdirSync(dir);
    giveToTools(dir, ctx.identity);
  }
}

/**
 * Opens a file the model named without following a final symlink and without blocking (a FIFO would
 * freeze the runner's event loop, heartbeats included), and accepts only a regular file with one link
 * (a hard link could make the runner write or read a file outside the repository).
 */
function openRegularFile(path: string, flags: number, mode?: number): number {
  // Checked before opening too: opening a device can have effects of its own.
  const before = lstatIfExists(path);
  if (before && !before.isFile()) throw new ToolRefusal(before.isSymbolicLink() ? 'refused: the path is a symlink' : 'refused: not a regular file (a FIFO, socket, device or directory)');
  const fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ToolRefusal('refused: not a regular file (a FIFO, socket, device or directory)');
    if (stat.nlink > 1) throw new ToolRefusal('refused: the file has more than one hard link');
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function lstatIfExists(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function writeNoFollow(path: string, content: string, identity: ToolIdentity): void {
  // Truncated only after the checks: O_TRUNC at open would already have emptied a hard-linked file.
  const fd = openRegularFile(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  giveToTools(path, identity);
}

function readNoFollow(path: string): string {
  const fd = openRegularFile(path, constants.O_RDONLY);
  try {
    const stat = fstatSync(fd);
    if (stat.size > MAX_READ_BYTES) throw new ToolRefusal(`file is ${stat.size} bytes; read it with shell tools (head, sed -n) instead`);
    const buffer = readFileSync(fd);
    if (buffer.subarray(0, 8_192).includes(0)) throw new ToolRefusal('binary file');
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function listFiles(ctx: ToolContext, dir: string, pattern: string | undefined): string {
  const root = resolveRepoPath(ctx.repoRoot, dir === '' ? '.' : dir);
  const matcher = pattern ? globToRegExp(pattern) : undefined;
  const out: string[] = [];
  let more = false;
  const walk = (abs: string, rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (out.length >= MAX_LISTED) {
        more = true;
        return;
      }
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (childRel === '.git' || entry.name === 'node_modules') continue;
      // Symlinks are listed, never followed.
      if (entry.isDirectory()) walk(join(abs, entry.name), childRel);
      else if (!matcher || matcher.test(childRel) || (!pattern!.includes('/') && matcher.test(entry.name))) out.push(childRel);
    }
  };
  walk(root.absolute, root.relative);
  if (out.length === 0) return 'no files';
  return more ? `${out.join('\n')}\n[listing stopped at ${MAX_LISTED} files; narrow the path or pattern]` : out.join('\n');
}

function numbered(text: string, start: number, end: number | undefined): string {
  const lines = text.split('\n');
  const last = Math.min(end ?? lines.length, lines.length);
  if (start > lines.length) return `the file has ${lines.length} lines`;
  return lines
    .slice(start - 1, last)
    .map((line, i) => `${String(start + i).padStart(5)}| ${line}`)
    .join('\n');
}

/** Runs one tool call. Invalid input and refusals are reported to the model as errors, never thrown. */
export async function executeTool(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  const started = Date.now();
  if (!(name in toolInputs)) return refused(`unknown tool "${name}"`, started);
  const parsed = toolInputs[name as ToolName].safeParse(rawInput);
  if (!parsed.success) return refused(`invalid input for ${name}: ${z.prettifyError(parsed.error)}`, started);
  try {
    switch (name as ToolName) {
      case 'shell': {
        const input = parsed.data as z.infer<typeof toolInputs.shell>;
        const timeoutSeconds = input.timeoutSeconds ?? ctx.defaultTimeoutSeconds ?? 120;
        const result = await runSandboxed({ command: input.command, cwd: ctx.repoRoot, timeoutMs: timeoutSeconds * 1_000, signal: ctx.signal }, ctx.identity, ctx.env);
        const status = result.timedOut
          ? `killed after the ${timeoutSeconds} s timeout (with every process it started)`
          : result.aborted
            ? 'killed: the run is stopping'
            : result.exitCode !== null
              ? `exit code ${result.exitCode}`
              : `killed by ${result.killedBy}`;
        return {
          text: truncateForModel(`${status}\n${result.output}`),
          isError: result.exitCode !== 0,
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          aborted: result.aborted,
          durationMs: result.durationMs,
        };
      }
      case 'read_file': {
        const input = parsed.data as z.infer<typeof toolInputs.read_file>;
        const target = resolveRepoPath(ctx.repoRoot, input.path);
        if (!target.exists) return refused(`${target.relative} does not exist`, started);
        return ok(numbered(readNoFollow(target.absolute), input.startLine ?? 1, input.endLine), started);
      }
      case 'write_file': {
        const input = parsed.data as z.infer<typeof toolInputs.write_file>;
        const target = assertWritable(ctx, input.path);
        makeParents(ctx, target.absolute);
        writeNoFollow(target.absolute, input.content, ctx.identity);
        return ok(`wrote ${target.relative} (${Buffer.byteLength(input.content)} bytes)`, started);
      }
      case 'edit_file': {
        const input = parsed.data as z.infer<typeof toolInputs.edit_file>;
        const target = assertWritable(ctx, input.path);
        if (!target.exists) return refused(`${target.relative} does not exist`, started);
        const text = readNoFollow(target.absolute);
        const count = text.split(input.oldText).length - 1;
        if (count !== 1) return refused(`oldText occurs ${count} times in ${target.relative}; it must occur exactly once`, started);
        const index = text.indexOf(input.oldText);
        writeNoFollow(target.absolute, text.slice(0, index) + input.newText + text.slice(index + input.oldText.length), ctx.identity);
        return ok(`edited ${target.relative}`, started);
      }
      case 'list_files': {
        const input = parsed.data as z.infer<typeof toolInputs.list_files>;
        return ok(listFiles(ctx, input.path ?? '', input.pattern), started);
      }
      case 'search': {
        const input = parsed.data as z.infer<typeof toolInputs.search>;
        const target = resolveRepoPath(ctx.repoRoot, input.path ?? '.');
        // grep runs as the tool user with a timeout: a model-written regex never runs inside the runner.
        const command = `grep -rnIE --exclude-dir=.git --exclude-dir=node_modules -m 20 -e ${shellQuote(input.pattern)} -- ${shellQuote(target.relative === '' ? '.' : target.relative)} | head -n 300`;
        const result = await runSandboxed({ command, cwd: ctx.repoRoot, timeoutMs: 30_000, signal: ctx.signal }, ctx.identity, ctx.env);
        if (result.timedOut) return refused('search timed out after 30 s; narrow the path or the pattern', started);
        return ok(result.output.trim() === '' ? 'no matches' : result.output, started, { exitCode: result.exitCode });
      }
      case 'finish': {
        const input = parsed.data as z.infer<typeof toolInputs.finish>;
        return ok('the runner will now run the tests, commit, push and open the draft pull request', started, {
          control: { kind: 'finish', summary: input.summary, risks: input.risks ?? null },
        });
      }
      case 'ask_human': {
        const input = parsed.data as z.infer<typeof toolInputs.ask_human>;
        return ok('the question was recorded; the run stops here', started, { control: { kind: 'ask_human', question: input.question } });
      }
    }
  } catch (err) {
    if (err instanceof PathRefusedError || err instanceof ToolRefusal) return refused(err.message, started);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return refused('refused: the path is a symlink', started);
    if (code === 'ENXIO') return refused('refused: not a regular file (a FIFO or socket)', started);
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES') return refused(`${name} failed: ${code}`, started);
    throw err;
  }
  return refused(`unknown tool "${name}"`, started);
}
