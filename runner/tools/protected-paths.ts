import { globToRegExp } from '../../core/text/glob';

export { globToRegExp };

/**
 * Paths the agent may not change: by default the CI workflows (a change there would run with the
 * repository's CI secrets) and the repository's own Nightshift settings. Globs: `**` crosses
 * directories, `*` and `?` do not. Matching ignores case, so `.GitHub/Workflows` is caught on a
 * case-insensitive checkout too.
 */
export const DEFAULT_PROTECTED_PATHS = ['.github/workflows/**', '.nightshift.yml'] as const;

export class ProtectedPaths {
  private readonly patterns: { glob: string; re: RegExp }[];

  constructor(globs: readonly string[]) {
    this.patterns = globs.map((glob) => ({ glob, re: globToRegExp(glob.replace(/^\.\//, '')) }));
  }

  /** The glob that protects a repository-relative path (forward slashes), if any. */
  match(relativePath: string): string | undefined {
    const path = relativePath.replace(/\\/g, '/');
    // A protected directory itself (".github/workflows") is protected too.
    return this.patterns.find((p) => p.re.test(path) || p.re.test(`${path}/`))?.glob;
  }

  get globs(): string[] {
    return this.patterns.map((p) => p.glob);
  }
}
