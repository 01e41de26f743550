import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';

/**
 * A small file read without following a final symlink, without blocking on a FIFO and only as a
 * regular file with one link of at most `maxBytes`; undefined when it is absent or anything else.
 * For files someone else could have planted: a repository's settings, a pid file in a shared directory.
 */
export function readRegularFile(path: string, maxBytes: number): string | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.nlink > 1 || stat.size > maxBytes) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
