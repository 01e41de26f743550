import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ToolIdentity } from '../isolation/tool-identity';
import { giveToTools, ToolRefusal, type ToolContext } from './tool-context';
import { existingParent, resolveRepoPath } from './workspace-paths';

/**
 * The file tools' access to the checkout, the runner acting as root on paths the model named:
 * every path goes through resolveRepoPath (inside the repository, no `..`, no escaping symlink),
 * protected paths are refused for writing, and a file is opened only when it is a regular file
 * with one link, without following a final symlink and without blocking (runner/tools/).
 */
export const MAX_READ_BYTES = 5 * 1024 * 1024;

export function assertWritable(ctx: ToolContext, requested: string) {
  const target = resolveRepoPath(ctx.repoRoot, requested);
  const glob = ctx.protectedPaths.match(target.relative);
  if (glob) throw new ToolRefusal(`refused: ${target.relative} is a protected path (${glob}); the runner will not change it`);
  if (target.exists && lstatSync(target.absolute).isDirectory()) throw new ToolRefusal(`refused: ${target.relative} is a directory`);
  return target;
}

export function makeParents(ctx: ToolContext, file: string): void {
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
  if (before && !before.isFile())
    throw new ToolRefusal(
      before.isSymbolicLink() ? 'refused: the path is a symlink' : 'refused: not a regular file (a FIFO, socket, device or directory)',
    );
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

export function writeNoFollow(path: string, content: string, identity: ToolIdentity): void {
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

export function readNoFollow(path: string): string {
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
