/**
 * Paths the agent may not change: by default the CI workflows (a change there would run with the
 * repository's CI secrets) and the repository's own Nightshift settings. Globs: `**` crosses
 * directories, `*` and `?` do not. Matching ignores case, so `.GitHub/Workflows` is caught on a
 * case-insensitive checkout too.
 */
export const DEFAULT_PROTECTED_PATHS = ['.github/workflows/**', '.nightshift.yml'] as const;

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

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
