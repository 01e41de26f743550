import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anchorComments, commentableLines } from '../../core/review/review-anchoring';
import { gitEnvAs } from '../support/git-env';

/** Real diffs: a repository changed on a branch, diffed the way GitHub diffs a pull request (base...head). */
const env = gitEnvAs('t', 't@t');
const lines = (n: number, tag = 'line') => `${Array.from({ length: n }, (_, i) => `${tag} ${i + 1}`).join('\n')}\n`;

let dir: string;
let diff: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'review-anchoring-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'app.js'), lines(40));
  writeFileSync(join(dir, 'gone.js'), lines(3, 'old'));
  writeFileSync(join(dir, 'untouched.js'), lines(5));
  git('add', '.');
  git('commit', '-qm', 'base');
  git('checkout', '-qb', 'feature');
  // app.js: line 20 changed, two lines added after line 30; gone.js deleted; new.js added.
  const app = lines(40).split('\n');
  app[19] = 'line 20 changed';
  app.splice(30, 0, 'added A', 'added B');
  writeFileSync(join(dir, 'app.js'), app.join('\n'));
  unlinkSync(join(dir, 'gone.js'));
  writeFileSync(join(dir, 'new.js'), 'export const x = 1;\nexport const y = 2;\n');
  git('add', '-A');
  git('commit', '-qm', 'change');
  diff = git('diff', '--no-color', 'main...feature');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('anchorComments', () => {
  it("Given comments on a changed line, an added line and a new file's line, When they are anchored on the diff, Then all are inline comments on the new side", () => {
    // Given comments on a changed line, an added line and a new file's line
    const comments = [
      { path: 'app.js', line: 20, body: 'changed' },
      { path: 'app.js', line: 32, body: 'added B' },
      { path: './new.js', line: 2, body: 'new file' },
    ];
    // When they are anchored on the real diff
    const review = anchorComments(diff, comments);
    // Then all three are inline comments on the RIGHT side, the loose path normalized
    expect(review.unanchored).toEqual([]);
    expect(review.anchored).toEqual([
      { path: 'app.js', line: 20, side: 'RIGHT', body: 'changed' },
      { path: 'app.js', line: 32, side: 'RIGHT', body: 'added B' },
      { path: 'new.js', line: 2, side: 'RIGHT', body: 'new file' },
    ]);
  });

  it('Given comments on unchanged lines, untouched files and deleted files, When they are anchored, Then they are folded into the summary with the reason', () => {
    const comments = [
      { path: 'app.js', line: 19, body: 'context line' },
      { path: 'app.js', line: 5, body: 'far from the change' },
      { path: 'untouched.js', line: 1, body: 'not in the diff' },
      { path: 'gone.js', line: 1, body: 'deleted file' },
    ];
    const review = anchorComments(diff, comments);
    expect(review.anchored).toEqual([]);
    expect(review.unanchored.map((u) => u.reason)).toEqual([
      'line 19 of app.js is not a line this pull request changes',
      'line 5 of app.js is not a line this pull request changes',
      'untouched.js has no changed lines in this pull request',
      'gone.js has no changed lines in this pull request',
    ]);
    expect(review.unanchored.map((u) => u.comment.body)).toEqual([
      'context line',
      'far from the change',
      'not in the diff',
      'deleted file',
    ]);
  });
});

describe('commentableLines (what GitHub accepts, for the local forge)', () => {
  it('Given a diff, When its commentable lines are read, Then every line of a hunk is taken on its side, and nothing outside the hunks', () => {
    const lines = commentableLines(diff);
    const app = lines.get('app.js')!;
    // Context lines (three around each change) and the changed lines are commentable on the right…
    expect([17, 18, 19, 20, 21, 22, 23].every((n) => app.RIGHT.has(n))).toBe(true);
    expect([31, 32].every((n) => app.RIGHT.has(n))).toBe(true);
    // …line 5 is outside every hunk, and the replaced line 20 is on the left
    expect(app.RIGHT.has(5)).toBe(false);
    expect(app.LEFT.has(20)).toBe(true);
    // A deleted file has only a left side; an untouched file is absent.
    expect([...lines.get('gone.js')!.LEFT]).toEqual([1, 2, 3]);
    expect(lines.get('gone.js')!.RIGHT.size).toBe(0);
    expect(lines.has('untouched.js')).toBe(false);
    expect([...lines.get('new.js')!.RIGHT]).toEqual([1, 2]);
  });
});
