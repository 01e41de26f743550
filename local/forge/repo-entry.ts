import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { RepoConfig } from '../../core/config/schema';

const PackageJson = z.object({ scripts: z.record(z.string(), z.string()).optional() }).passthrough();

/**
 * The `repos[]` entry `nightshift forge add` prints: the name, and `"test": "npm test"` when the
 * checkout has a package.json with a test script (the only convention it can read with certainty;
 * setup commands and any other test command are the user's to add, docs/local-mode.md).
 */
export function suggestedRepoEntry(repo: string, directory: string): RepoConfig {
  const file = join(directory, 'package.json');
  if (!existsSync(file)) return { name: repo };
  let parsed: z.infer<typeof PackageJson> | undefined;
  try {
    const result = PackageJson.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    parsed = result.success ? result.data : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed?.scripts?.test) return { name: repo };
  return { name: repo, test: 'npm test' };
}
