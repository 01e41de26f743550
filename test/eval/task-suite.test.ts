import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { grade } from '../../eval/grader';
import { loadSuite } from '../../eval/task-suite';
import { estimateTokens } from '../../core/pricing';

/**
 * Every eval task is validated offline, as SWE-bench validates its instances: its gold patch (for an
 * `ask` task: asking, with no change) must resolve it, and the empty patch must not, with every
 * fail-to-pass test failing at base. So a task that cannot be solved, or is solved by doing nothing,
 * never reaches a live run.
 */
const suite = loadSuite();

describe('the eval suite', () => {
  it('Given the eval suite, Then it covers both languages and every kind of task the harness promises', () => {
    expect(new Set(suite.map((t) => t.task.language))).toEqual(new Set(['javascript', 'python']));
    expect(new Set(suite.map((t) => t.task.kind))).toEqual(
      new Set(['bug', 'feature', 'ambiguous', 'unrelated-failures', 'huge-file', 'long-output', 'long-task']),
    );
  });

  describe.each(suite.map((t) => [t.task.id, t] as const))('%s', (_id, loaded) => {
    const asks = loaded.task.expect === 'ask';

    it('Given the task, When its gold solution is graded, Then it is resolved', () => {
      const result = grade(loaded, { patch: loaded.goldPatch ?? '', asked: asks });
      expect(result.reasons).toEqual([]);
      expect(result.resolved).toBe(true);
    });

    it('Given the task, When the empty patch is graded, Then it is not resolved, its fail-to-pass tests fail at base and its pass-to-pass tests pass', () => {
      const result = grade(loaded, { patch: '', asked: false });
      expect(result.resolved).toBe(false);
      expect(Object.values(result.failToPass).every((s) => s !== 'pass')).toBe(true);
      // what must keep passing passes at base already: the task is graded on its change, not the repo's state
      expect(Object.values(result.passToPass).every((s) => s === 'pass')).toBe(true);
    });
  });
});

describe('the long task', () => {
  it('Given the long task, When the modules it must change are read, Then they pass the high-water mark: it does not fit its window without compaction', () => {
    const long = suite.find((t) => t.task.kind === 'long-task')!;
    const dir = join(long.repoDir, 'converters');
    const reads = readdirSync(dir)
      .filter((f) => f !== '__init__.py')
      .map((f) => estimateTokens(readFileSync(join(dir, f), 'utf8')));
    expect(reads).toHaveLength(12);
    // runner/model/conversation.ts: compaction starts above 85% of (window - output limit) × 0.9, here with the smallest output limit the config allows
    const highWater = (long.task.contextWindowTokens! - 256) * 0.9 * 0.85;
    expect(reads.reduce((a, b) => a + b, 0)).toBeGreaterThan(highWater);
  });
});

describe('the grader', () => {
  const byId = (id: string) => suite.find((t) => t.task.id === id)!;

  it('Given a patch that does not apply, or one that touches what must be left alone, When it is graded, Then it is not resolved', () => {
    const bug = byId('js-bug-failing-test');
    const garbled = grade(bug, { patch: bug.goldPatch!.replace("    .normalize('NFKD')", "    .normalize('NFC')"), asked: false });
    expect(garbled).toMatchObject({ resolved: false, applied: false });
    expect(garbled.reasons[0]).toMatch(/^the patch does not apply/);

    const unrelated = byId('py-unrelated-failures');
    const alsoFixesLegacy = `${unrelated.goldPatch!}diff --git a/textkit/legacy_dates.py b/textkit/legacy_dates.py
--- a/textkit/legacy_dates.py
+++ b/textkit/legacy_dates.py
@@ -4,4 +4,4 @@ import datetime
 
 def archive_date(day):
     """The export wrote dates as DD/MM/YY."""
-    return day.strftime("%d/%m/%Y")
+    return day.strftime("%d/%m/%y")
`;
    const result = grade(unrelated, { patch: alsoFixesLegacy, asked: false });
    expect(result.applied).toBe(true);
    expect(Object.values(result.failToPass)).toEqual(['pass']);
    expect(result).toMatchObject({ resolved: false, touchedForbidden: ['textkit/legacy_dates.py'] });
  });

  it('Given a patch that deletes the failing test, When it is graded, Then the hidden tests are run, not the edited ones, and it is not resolved', () => {
    const bug = byId('js-bug-failing-test');
    // "fixes" the failing test by deleting it
    const deletesTest = `diff --git a/test/slugify.test.js b/test/slugify.test.js
--- a/test/slugify.test.js
+++ b/test/slugify.test.js
@@ -14,7 +14,3 @@ test('slugify lowercases words', () => {
 test('slugify strips accents', () => {
   assert.equal(slugify('Crème Brûlée'), 'creme-brulee');
 });
-
-test('slugify collapses runs of separators', () => {
-  assert.equal(slugify('Hello,  World!'), 'hello-world');
-});
`;
    const result = grade(bug, { patch: deletesTest, asked: false });
    expect(result.applied).toBe(true);
    expect(result.resolved).toBe(false);
    expect(result.failToPass['slugify collapses runs of separators']).toBe('fail');
  });

  it('Given an ambiguous task changed instead of asked about, When it is graded, Then it is not resolved', () => {
    const ask = byId('js-ambiguous-ask');
    expect(grade(ask, { patch: '', asked: false }).reasons).toEqual(['the task is ambiguous and the run did not ask']);
  });
});
