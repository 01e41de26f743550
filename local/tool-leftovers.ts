import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sep } from 'node:path';
import { COMMAND_MARKER_VARIABLE } from '../runner/isolation/sandbox';
import type { LocalLog } from './local-log';

/**
 * Tool commands a crashed platform left behind. A runner kills what its commands leave when they end
 * (runner/isolation/sandbox.ts), but a runner killed with its platform never gets to: its tool
 * commands run in process groups (and sessions) of their own, so stopping the runner's group does not
 * reach them. At the next start the platform finds them by what every tool process inherits: the tool
 * uid, the command marker variable, and a HOME or working directory inside this platform's workspaces
 * (so the tools of another local platform sharing the tool user are left alone), and kills each one
 * with its whole process group.
 */
export interface ToolLeftoverScope {
  /** $NIGHTSHIFT_HOME/work: every run's workspace is under it. */
  workDir: string;
  /** The uid tool commands run as. */
  toolUid: number;
}

interface ProcessFacts {
  pid: number;
  uid: number;
  pgid: number;
  environ: string[];
  cwd: string | undefined;
}

function facts(pid: number): ProcessFacts | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    // Field 5 of stat, after the parenthesised command name (which may itself hold spaces and parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
    return { pid, uid, pgid, environ, cwd };
  } catch {
    // Gone meanwhile, or not ours to read.
    return undefined;
  }
}

/** Whether a process is a tool command (or a descendant) of one of this platform's runs. Pure. */
export function isToolLeftover(process: ProcessFacts, scope: ToolLeftoverScope): boolean {
  if (process.uid !== scope.toolUid) return false;
  if (!process.environ.some((entry) => entry.startsWith(`${COMMAND_MARKER_VARIABLE}=`))) return false;
  const inside = (path: string | undefined) => path?.startsWith(scope.workDir + sep) === true;
  const home = process.environ.find((entry) => entry.startsWith('HOME='))?.slice('HOME='.length);
  return inside(home) || inside(process.cwd);
}

function kill(target: number, what: 'pid' | 'group'): void {
  try {
    process.kill(what === 'group' ? -target : target, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

/** Kills every leftover tool process of this platform and its process group, in rounds until none is found. Returns the pids killed. */
export function reapToolLeftovers(scope: ToolLeftoverScope, log: LocalLog): number[] {
  const killed: number[] = [];
  const ownGroup = readOwnGroup();
  for (let round = 0; round < 10; round++) {
    const found: ProcessFacts[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const candidate = facts(Number(entry));
      if (candidate && isToolLeftover(candidate, scope)) found.push(candidate);
    }
    if (found.length === 0) break;
    for (const leftover of found) {
      // Its group takes children that cleared their environment but stayed in it.
      if (leftover.pgid > 1 && leftover.pgid !== ownGroup) kill(leftover.pgid, 'group');
      kill(leftover.pid, 'pid');
      killed.push(leftover.pid);
    }
  }
  if (killed.length > 0)
    log.warn('killed tool processes left by a previous platform process', { count: killed.length, pids: killed.slice(0, 50) });
  return killed;
}

function readOwnGroup(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}
