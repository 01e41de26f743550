import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ToolIdentity } from './isolation/tool-identity';

/**
 * A run's directories:
 *   repo/         the checkout: owned by the tool user, the only tool-writable place besides HOME and /tmp
 *   git/          the git directory, owned by the runner and outside the checkout (see WorkspaceGit)
 *   home/         the tools' HOME (a fresh one per run: no developer or image dotfiles)
 *   runner-home/  git's HOME for the runner's own commands, private to the runner
 */
export interface WorkspaceLayout {
  root: string;
  repo: string;
  gitDir: string;
  toolHome: string;
  runnerHome: string;
}

export function workspaceLayout(root: string): WorkspaceLayout {
  return { root, repo: join(root, 'repo'), gitDir: join(root, 'git'), toolHome: join(root, 'home'), runnerHome: join(root, 'runner-home') };
}

export class WorkspaceUnreachableError extends Error {
  constructor(dir: string, user: string) {
    super(`the tool user ${user} cannot enter ${dir}: make the workspace's parent directories traversable (o+x)`);
    this.name = 'WorkspaceUnreachableError';
  }
}

/** Checks that the tool user may traverse every directory above `dir` (mode bits, as the kernel would). */
export function assertToolCanReach(dir: string, identity: ToolIdentity): void {
  if (identity.kind !== 'separate') return;
  for (let current = dirname(dir); ; current = dirname(current)) {
    const stat = statSync(current);
    const bit = stat.uid === identity.uid ? 0o100 : stat.gid === identity.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) throw new WorkspaceUnreachableError(current, identity.user);
    if (current === dirname(current)) return;
  }
}

export function prepareWorkspace(layout: WorkspaceLayout, identity: ToolIdentity): void {
  // A resumed run's new task starts clean: an earlier task of the run that was killed (local mode, a
  // lost task resumed from its checkpoint) may have left its workspace; the branch holds its work.
  rmSync(layout.root, { recursive: true, force: true });
  mkdirSync(layout.root, { recursive: true });
  // Traversable (not listable) by the tool user, who needs to reach repo/ and home/.
  chmodSync(layout.root, 0o711);
  assertToolCanReach(layout.root, identity);
  mkdirSync(layout.runnerHome, { mode: 0o700 });
  mkdirSync(layout.toolHome, { mode: 0o700 });
  // The tools' git may look at the checkout (status, diff); the git dir is the runner's, not theirs.
  writeFileSync(join(layout.toolHome, '.gitconfig'), '[safe]\n\tdirectory = *\n[core]\n\thooksPath = /dev/null\n', { mode: 0o644 });
  giveTreeTo(layout.toolHome, identity);
}

/** Hands a tree to the tool user without following symlinks (a cloned symlink must not redirect the chown). */
export function giveTreeTo(path: string, identity: ToolIdentity): void {
  if (identity.kind !== 'separate') return;
  const stat = lstatSync(path);
  lchownSync(path, identity.uid, identity.gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) giveTreeTo(join(path, entry), identity);
}
