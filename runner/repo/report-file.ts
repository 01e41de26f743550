import { lstatSync } from 'node:fs';
import { readPlantedFile } from '../fs/regular-file';
import { PathRefusedError, resolveRepoPath } from '../tools/workspace-paths';

/** A report file the test command wrote, as the runner read it. */
export type ReportFile = { kind: 'absent' } | { kind: 'too_large'; bytes: number } | { kind: 'read'; text: string; stamp: string };

/**
 * Reads a report the repository names (`.nightshift.yml` testResults, coverage). The runner reads it
 * as root while the test command (as the tool user, running agent-written code) wrote it, so it goes
 * through the file tools' path guard (no `..`, no symlink at any level leading outside the
 * repository) and the planted-file read (runner/fs/regular-file.ts: no final symlink, no FIFO, one
 * link, at most `maxBytes`). PathRefusedError when the path or the file is refused.
 */
export function readReportFile(repoRoot: string, relativePath: string, maxBytes: number): ReportFile {
  const resolved = resolveRepoPath(repoRoot, relativePath);
  if (!resolved.exists) return { kind: 'absent' };
  const file = readPlantedFile(resolved.absolute, maxBytes);
  if (file.kind === 'refused') throw new PathRefusedError(relativePath, file.why);
  return file.kind === 'read' ? { kind: 'read', text: file.text, stamp: stampOf(file.stat) } : file;
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
