import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gitEnvAs } from './git-env';

/** The sample repository's `src/slugify.js` fixed: runs of separators collapsed and the ends trimmed. */
export const fixedSlugify = `'use strict';

/** Turns a title into a URL slug: "Hello, World!" -> "hello-world". */
function slugify(title) {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

module.exports = { slugify };
`;

/** Git as alice in the folder `work`: answers what `git <args>` printed. */
export function gitAsAliceIn(work: string): (...args: string[]) => string {
  const env = gitEnvAs('alice', 'a@example.com');
  return (...args) => execFileSync('git', args, { cwd: work, env, encoding: 'utf8' });
}

/**
 * alice clones the sample repository's bare repository `bare` into the empty folder `work`, fixes
 * slugify on the branch `fix/slug-trim` and pushes that branch: the head of a pull request to review.
 */
export function pushSlugFixBranch(bare: string, work: string): void {
  const git = gitAsAliceIn(work);
  git('clone', '-q', pathToFileURL(bare).href, '.');
  git('checkout', '-qb', 'fix/slug-trim');
  writeFileSync(join(work, 'src', 'slugify.js'), fixedSlugify);
  git('commit', '-qam', 'Collapse and trim separators');
  git('push', '-q', 'origin', 'fix/slug-trim');
}
