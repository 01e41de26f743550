/**
 * The agent's changes as the finish gate and delivery see them: `git status` of the checkout against
 * HEAD (untracked files included, ignored ones not), which of them are tests, and which look like
 * scratch (files an agent leaves behind while it works: repro scripts, logs, backups, patches).
 */
export interface WorkspaceChange {
  /** Porcelain v1 status: `??` untracked, ` M`/`M ` modified, ` D` deleted, `A ` added, … */
  status: string;
  path: string;
}

/** Parses `git status --porcelain=v1 -z --untracked-files=all --no-renames`. */
export function parseStatusZ(out: string): WorkspaceChange[] {
  return out
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => ({ status: entry.slice(0, 2), path: entry.slice(3) }));
}

const TEST_PATH = /(^|\/)(tests?|__tests__|specs?|testing)\/|(^|\/)test_[^/]*$|[._-](test|spec)s?\.[A-Za-z0-9]+$|_test\.go$/i;

export function isTestPath(path: string): boolean {
  return TEST_PATH.test(path);
}

/**
 * The scratch rule: a file the agent created (untracked at the end) whose name says it is scratch:
 * a backup, log, patch leftover or output file by extension, or a name starting with scratch, tmp,
 * temp, debug, repro or reproduce. Such a file is left out of the commit unless the agent names it
 * in its `finish` summary (then it is part of the change).
 */
const SCRATCH_EXTENSION = /\.(log|tmp|temp|bak|orig|rej|swp|swo|out|patch|diff)$|~$/i;
const SCRATCH_NAME = /^(scratch|tmp|temp|debug|repro|reproduce)([._-]|\d|$)/i;

export function isScratchPath(path: string): boolean {
  const name = path.split('/').pop() ?? path;
  return SCRATCH_EXTENSION.test(name) || SCRATCH_NAME.test(name);
}

export function isUntracked(change: WorkspaceChange): boolean {
  return change.status === '??';
}

export function isDeleted(change: WorkspaceChange): boolean {
  return change.status.includes('D');
}

/** Untracked scratch files that the text (the finish summary) does not name. */
export function unreferencedScratch(changes: readonly WorkspaceChange[], text: string): string[] {
  return changes.filter((c) => isUntracked(c) && isScratchPath(c.path) && !text.includes(c.path)).map((c) => c.path);
}
