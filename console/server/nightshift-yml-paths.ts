import { parse as parseYaml } from 'yaml';
import { NightshiftYml } from '../../runner/repo/repo-settings-file';

/**
 * The `protectedPaths` of a `.nightshift.yml` text (null: the base branch has none), as the runner
 * reads them; a file that is not YAML or not valid adds none, as for the runner. Kept apart from
 * run-diff.ts so the API's diff route does not bundle a YAML parser (the branch facts function reads it).
 */
export function protectedPathsOfNightshiftYml(text: string | null): string[] {
  if (text === null) return [];
  try {
    const parsed = NightshiftYml.safeParse(parseYaml(text));
    return parsed.success ? (parsed.data.protectedPaths ?? []) : [];
  } catch {
    return [];
  }
}
