import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { PathRefusedError, resolveRepoPath } from '../tools/workspace-paths';

/** A report file the test command wrote, as the runner read it. */
export type ReportFile = { kind: 'absent' } | { kind: 'too_large'; bytes: number } | { kind: 'read'; text: string; stamp: string };

/**
 * Reads a report the repository names (`.nightshift.yml` testResults, coverage). The runner reads it
 * as root while the test command (as the tool user, running agent-written code) wrote it, so it goes
 * through the file tools' path guard (no `..`, no symlink at any level leading outside the
 * repository) and is opened with O_NOFOLLOW (a last-component symlink) and O_NONBLOCK (a FIFO must
 * not hang the runner); only a regular file with one link, at most `maxBytes`, is read.
 * PathRefusedError when the path is refused.
 */
export function readReportFile(repoRoot: string, relativePath: string, maxBytes: number): ReportFile {
  const resolved = resolveRepoPath(repoRoot, relativePath);
  if (!resolved.exists) return { kind: 'absent' };
  let fd: number;
  try {
    fd = openSync(resolved.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent' };
    if (code === 'ELOOP') throw new PathRefusedError(relativePath, 'is a symlink');
    throw err;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile()) throw new PathRefusedError(relativePath, 'is not a regular file');
    // A hard link made by the tool user could name a file it may not read itself.
    if (stat.nlink > 1n) throw new PathRefusedError(relativePath, 'has more than one hard link');
    if (stat.size > BigInt(maxBytes)) return { kind: 'too_large', bytes: Number(stat.size) };
    return { kind: 'read', text: readFileSync(fd, 'utf8'), stamp: stampOf(stat) };
  } finally {
    closeSync(fd);
  }
}

/**
 * The report's identity (device, inode, size, modification and change times) before a test run, or
 * undefined when there is none: a report with the same stamp afterwards was not written by that run.
 */
export function reportFileStamp(repoRoot: string, relativePath: string): string | undefined {
  try {
    const resolved = resolveRepoPath(repoRoot, relativePath);
    return resolved.exists ? stampOf(lstatSync(resolved.absolute, { bigint: true })) : undefined;
  } catch {
    return undefined;
  }
}

function stampOf(stat: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}
