import { readFileSync } from 'node:fs';

/** Whether process `pid` exists (signal 0 checks without signalling); a zombie still counts. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether process `pid` still runs: it exists and is not a zombie. Unlike `isAlive`, a zombie (ended,
 * waiting for its parent or init to reap it) counts as ended, so a test can wait for a process it did
 * not start, and so cannot reap, to end. Reads /proc/<pid>/status (Linux).
 */
export function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
