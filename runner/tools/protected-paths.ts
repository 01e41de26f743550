import { globToRegExp } from '../../core/text/glob';

export { globToRegExp };

/**
 * Paths the agent may not change: by default the CI workflows (a change there would run with the
 * repository's CI secrets) and the repository's own Nightshift settings. Globs: `**` crosses
 * directories, `*` and `?` do not. Matching ignores case, so `.GitHub/Workflows` is caught on a
 * case-insensitive checkout too.
 */
export const DEFAULT_PROTECTED_PATHS = ['.github/workflows/**', '.nightshift.yml'] as const;

const compile = (globs: readonly string[]) => globs.map((glob) => ({ glob, re: globToRegExp(glob.replace(/^\.\//, '')) }));

/**
 * What the agent may not change: the protected globs, and, when `.nightshift.yml` names
 * `allowedPaths`, every path outside them (refused the same way, with the same consequences: the
 * file tools refuse the edit and a change a command made there is left out of the commit).
 */
export class ProtectedPaths {
  private readonly patterns: { glob: string; re: RegExp }[];
  private readonly allowed: { glob: string; re: RegExp }[] | undefined;

  constructor(globs: readonly string[], allowedPaths?: readonly string[]) {
    this.patterns = compile(globs);
    this.allowed = allowedPaths ? compile(allowedPaths) : undefined;
  }

  /**
   * Why a repository-relative path (forward slashes) may not be changed: the glob that protects it,
   * or `outside allowedPaths (...)`; undefined when it may be.
   */
  match(relativePath: string): string | undefined {
    const path = relativePath.replace(/\\/g, '/');
    // A protected directory itself (".github/workflows") is protected too.
    const glob = this.patterns.find((p) => p.re.test(path) || p.re.test(`${path}/`))?.glob;
    if (glob !== undefined || this.allowed === undefined) return glob;
    return this.allowed.some((p) => p.re.test(path)) ? undefined : `outside allowedPaths: ${this.allowedGlobs!.join(', ')}`;
  }

  /** `.nightshift.yml` `allowedPaths`, when it names any. */
  get allowedGlobs(): string[] | undefined {
    return this.allowed?.map((p) => p.glob);
  }

  get globs(): string[] {
    return this.patterns.map((p) => p.glob);
  }
}
