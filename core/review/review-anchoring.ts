import * as z from 'zod';
import { addedLines } from '../change-coverage/added-lines';

/**
 * Where a review's inline comments may go (pure). A review run anchors a comment only on a line the
 * pull request adds or changes (a `+` line of its diff against the base, on the new side); any other
 * comment (a line outside the change, a file the diff does not touch, a deleted file) is folded into
 * the review's summary instead, so that GitHub never refuses the review (422) and nothing is lost.
 */
export const ReviewComment = z
  .object({
    path: z.string().min(1).max(1_000).describe('File path relative to the repository root, as the diff names it'),
    line: z
      .number()
      .int()
      .min(1)
      .describe('Line number in the file at the head of the pull request (a line the pull request adds or changes)'),
    body: z.string().min(1).max(4_000).describe('The comment: what is wrong or risky on this line and what to do instead'),
  })
  .strict();
export type ReviewComment = z.infer<typeof ReviewComment>;

/** An inline comment as GitHub's create-review call takes it: the new side of the diff. */
export interface AnchoredComment {
  path: string;
  line: number;
  side: 'RIGHT';
  body: string;
}

export interface AnchoredReview {
  anchored: AnchoredComment[];
  /** Comments that could not be anchored, with the reason, for the summary. */
  unanchored: { comment: ReviewComment; reason: string }[];
}

/** `./src/a.ts` or `src//a.ts` → `src/a.ts`: agents name paths loosely. */
function normalizePath(path: string): string {
  return path
    .trim()
    .replace(/^\.\//, '')
    .replace(/\/{2,}/g, '/');
}

/** Splits a review's comments into those on changed lines of `diff` (the PR's unified diff) and the rest. */
export function anchorComments(diff: string, comments: readonly ReviewComment[]): AnchoredReview {
  const changed = addedLines(diff);
  const result: AnchoredReview = { anchored: [], unanchored: [] };
  for (const comment of comments) {
    const path = normalizePath(comment.path);
    const lines = changed.get(path);
    if (!lines) result.unanchored.push({ comment, reason: `${path} has no changed lines in this pull request` });
    else if (!lines.includes(comment.line))
      result.unanchored.push({ comment, reason: `line ${comment.line} of ${path} is not a line this pull request changes` });
    else result.anchored.push({ path, line: comment.line, side: 'RIGHT', body: comment.body });
  }
  return result;
}

/**
 * The lines GitHub lets a review comment on: every line inside a hunk of the diff, on the side it
 * belongs to (RIGHT: added and context lines by their new number; LEFT: deleted and context lines by
 * their old number). The local forge validates comments with it, as GitHub does (422 otherwise).
 */
export function commentableLines(diff: string): Map<string, { RIGHT: Set<number>; LEFT: Set<number> }> {
  const files = new Map<string, { RIGHT: Set<number>; LEFT: Set<number> }>();
  let file: { RIGHT: Set<number>; LEFT: Set<number> } | undefined;
  let oldPath: string | undefined;
  let inHunk = false;
  let nextOld = 0;
  let nextNew = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      file = undefined;
      oldPath = undefined;
      inHunk = false;
    } else if (!inHunk && line.startsWith('--- ')) {
      oldPath = diffSidePath(line.slice(4), 'a/');
    } else if (!inHunk && line.startsWith('+++ ')) {
      const path = diffSidePath(line.slice(4), 'b/') ?? oldPath;
      if (path !== undefined) {
        file = files.get(path) ?? { RIGHT: new Set(), LEFT: new Set() };
        files.set(path, file);
      }
    } else if (line.startsWith('@@ ')) {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      inHunk = m !== null;
      nextOld = m ? Number(m[1]) : 0;
      nextNew = m ? Number(m[2]) : 0;
    } else if (inHunk && file) {
      if (line.startsWith('+')) file.RIGHT.add(nextNew++);
      else if (line.startsWith('-')) file.LEFT.add(nextOld++);
      else if (line.startsWith(' ')) {
        file.RIGHT.add(nextNew++);
        file.LEFT.add(nextOld++);
      } else if (!line.startsWith('\\')) inHunk = false;
    }
  }
  return files;
}

/** `b/src/x.js` → `src/x.js`; `/dev/null` → undefined (quoted paths are rare in reviews and left as they are). */
function diffSidePath(raw: string, prefix: string): string | undefined {
  const text = raw.replace(/\t.*$/, '');
  if (text === '/dev/null') return undefined;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
