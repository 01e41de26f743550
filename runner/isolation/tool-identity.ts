import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

/**
 * Who the agent's tools run as. In the image the runner starts as root only so that it can run every
 * tool command as the unprivileged tool user; a developer's local run is not root, and then the tools
 * run as that developer's user, which the run's events say plainly.
 */
export type ToolIdentity =
  /** `exclusive`: the tool user serves only this run (one run per task, as in the image), so every process of it may be killed. */
  | { kind: 'separate'; user: string; uid: number; gid: number; exclusive?: boolean }
  | { kind: 'same'; user: string; uid: number; gid: number; reason: string };

export const DEFAULT_TOOL_USER = 'nightshift-tool';

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
    return { uid, gid };
  } catch {
    return undefined;
  }
}

export class ToolUserMissingError extends Error {
  constructor(readonly user: string) {
    super(`the runner runs as root but the tool user "${user}" does not exist; refusing to run tools as root`);
    this.name = 'ToolUserMissingError';
  }
}

export function resolveToolIdentity(toolUser = DEFAULT_TOOL_USER, options: { exclusive?: boolean } = {}): ToolIdentity {
  const self = userInfo();
  if (self.uid !== 0) {
    return {
      kind: 'same',
      user: self.username,
      uid: self.uid,
      gid: self.gid,
      reason: `the runner is not root (uid ${self.uid}), so tools run as ${self.username}: they get a scrubbed environment and their own process group, but can read whatever ${self.username} can read, including other processes of that user`,
    };
  }
  const found = lookupUser(toolUser);
  // Running model-written commands as root is never the fallback.
  if (!found || found.uid === 0) throw new ToolUserMissingError(toolUser);
  return { kind: 'separate', user: toolUser, ...found, ...(options.exclusive ? { exclusive: true } : {}) };
}
