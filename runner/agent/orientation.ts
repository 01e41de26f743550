import { join } from 'node:path';
import * as z from 'zod';
import { readRegularFile } from '../fs/regular-file';

/** What the task message tells the agent about the repository before its first tool call. */
export interface Orientation {
  depth: number;
  tree: string;
  scripts: [string, string][];
  nestedAgentFiles: string[];
  branchDiff?: { base: string; text: string };
}

const TREE_DEPTH = 2;
const TREE_ENTRIES = 150;
const SCRIPTS_LISTED = 40;

const PackageScripts = z.object({ scripts: z.record(z.string(), z.string()).optional() });

/**
 * A depth-limited tree of the git view (tracked and untracked, not ignored), each directory with the
 * count of files below it; the package.json scripts; the AGENTS.md files below the root.
 */
export function orientation(repoRoot: string, files: readonly string[], depth = TREE_DEPTH): Orientation {
  const counts = new Map<string, number>();
  const entries = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      counts.set(dir, (counts.get(dir) ?? 0) + 1);
      if (i <= depth) entries.add(dir);
    }
    if (parts.length <= depth) entries.add(file);
  }
  const sorted = [...entries].sort();
  const lines = sorted.slice(0, TREE_ENTRIES).map((e) => {
    const level = e.replace(/\/$/, '').split('/').length - 1;
    const name = e.endsWith('/') ? `${e.replace(/\/$/, '').split('/').pop()}/ (${counts.get(e)} files)` : e.split('/').pop();
    return `${'  '.repeat(level)}${name}`;
  });
  if (sorted.length > TREE_ENTRIES) lines.push(`… ${sorted.length - TREE_ENTRIES} more entries (list_files shows them)`);
  if (files.length === 0) lines.push('(no files)');
  let scripts: [string, string][] = [];
  const pkg = readRegularFile(join(repoRoot, 'package.json'), 1024 * 1024);
  if (pkg !== undefined) {
    try {
      const parsed = PackageScripts.safeParse(JSON.parse(pkg));
      if (parsed.success)
        scripts = Object.entries(parsed.data.scripts ?? {})
          .slice(0, SCRIPTS_LISTED)
          .map(([k, v]) => [k, v.length > 200 ? `${v.slice(0, 200)}…` : v]);
    } catch {
      scripts = [];
    }
  }
  const nestedAgentFiles = files.filter((f) => f.includes('/') && /(^|\/)(AGENTS|CLAUDE)\.md$/.test(f)).slice(0, 30);
  return { depth, tree: lines.join('\n'), scripts, nestedAgentFiles };
}
