import { type BigIntStats, closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** What reading a file someone else could have planted found. */
export type RegularFileRead =
  | { kind: 'read'; text: string; stat: BigIntStats }
  | { kind: 'absent' }
  | { kind: 'refused'; why: 'is a symlink' | 'is not a regular file' | 'has more than one hard link' }
  | { kind: 'too_large'; bytes: number };

/**
 * Reads a file without following a final symlink (O_NOFOLLOW), without blocking on a FIFO
 * (O_NONBLOCK), and only as a regular file with one link (a hard link made by someone else could
 * name a file they may not read themselves) of at most `maxBytes`. For files someone else could have
 * planted: a repository's settings, a report the tests wrote, a pid file in a shared directory.
 * Errors other than absence and a symlink (EACCES, EIO…) are thrown.
 */
export function readPlantedFile(path: string, maxBytes: number): RegularFileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent' };
    if (code === 'ELOOP') return { kind: 'refused', why: 'is a symlink' };
    throw err;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile()) return { kind: 'refused', why: 'is not a regular file' };
    if (stat.nlink > 1n) return { kind: 'refused', why: 'has more than one hard link' };
    if (stat.size > BigInt(maxBytes)) return { kind: 'too_large', bytes: Number(stat.size) };
    return { kind: 'read', text: readFileSync(fd, 'utf8'), stat };
  } finally {
    closeSync(fd);
  }
}

/** The text of such a file; undefined when it is absent, refused, too large or unreadable. */
export function readRegularFile(path: string, maxBytes: number): string | undefined {
  try {
    const file = readPlantedFile(path, maxBytes);
    return file.kind === 'read' ? file.text : undefined;
  } catch {
    return undefined;
  }
}
