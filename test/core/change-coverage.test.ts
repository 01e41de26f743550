import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addedLines } from '../../core/change-coverage/added-lines';
import {
  changeCoverage,
  changeCoverageMarkdown,
  ChangeCoverageEvidence,
  linesOf,
  locateCoverage,
  ranges,
  repoRelative,
} from '../../core/change-coverage/change-coverage';
import {
  CoverageReportError,
  parseCoverageReport,
  type CoverageFormat,
  type CoverageReport,
} from '../../core/change-coverage/report-formats';

const samples = resolve(__dirname, '../fixtures/coverage-reports');
const sample = (name: string) => readFileSync(join(samples, name), 'utf8');
const ROOT = '/home/runner/work/shop/shop';
const asObject = (report: CoverageReport) => Object.fromEntries(report.files.map((f) => [f.path, Object.fromEntries(f.lines)]));
/** jest's run of src/price.js: lines 4, 5 and 11 never ran. */
const PRICE_LINES = { 3: 1, 4: 0, 5: 0, 7: 1, 11: 0, 14: 1 };

describe('coverage report formats', () => {
  it('Given a node --test lcov report, When it is parsed, Then its relative paths are kept and its records other than DA ignored', () => {
    const report = parseCoverageReport('lcov', sample('node-test.lcov.info'));
    expect(report.files.map((f) => f.path)).toEqual(['add.test.js', 'src/add.js']);
    expect(asObject(report)['src/add.js']).toEqual({ 1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 1, 7: 1, 8: 1, 9: 1 });
  });

  it.each<[CoverageFormat, string]>([
    ['lcov', 'jest.lcov.info'],
    ['cobertura', 'istanbul-cobertura.xml'],
    ['istanbul-json', 'coverage-final.json'],
  ])(
    "Given one jest run's report as %s (%s), When it is parsed and located, Then it gives the same lines for src/price.js",
    (format, file) => {
      // Given three reporters' output of one run, When each is parsed and located in the repository
      const located = locateCoverage(parseCoverageReport(format, sample(file)), [ROOT]);
      // Then each gives the same lines for src/price.js (Cobertura's method-level <lines> not counted twice)
      expect(Object.fromEntries(linesOf(located, 'src/price.js')!)).toEqual(PRICE_LINES);
      expect(located.totals).toEqual({ covered: 3, total: 6 });
      expect(located.outside).toBe(0);
    },
  );

  it('Given a coverage.py Cobertura report, When it is parsed and located, Then its filenames are read under its <source>', () => {
    const report = parseCoverageReport('cobertura', sample('coveragepy-cobertura.xml'));
    expect(report.sourceRoots).toEqual([`${ROOT}/src`]);
    const located = locateCoverage(report, [ROOT]);
    expect(Object.fromEntries(linesOf(located, 'src/shop/price.py')!)).toEqual({ 1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 1, 9: 1 });
    expect(linesOf(located, 'src/shop/__init__.py')).toEqual(new Map());
    expect(located.totals).toEqual({ covered: 5, total: 7 });
  });

  it('Given a Cobertura report with several <source>s, When it is located, Then each filename is looked up under each of them', () => {
    const xml = sample('coveragepy-cobertura.xml').replace(
      '<source>/home/runner/work/shop/shop/src</source>',
      '<source>/home/runner/work/shop/shop/src</source><source>/home/runner/work/shop/shop/lib</source><source>/elsewhere</source>',
    );
    const located = locateCoverage(parseCoverageReport('cobertura', xml), [ROOT]);
    expect(linesOf(located, 'src/shop/price.py')?.get(4)).toBe(0);
    expect(linesOf(located, 'lib/shop/price.py')?.get(4)).toBe(0);
    expect(linesOf(located, 'shop/price.py')).toBeUndefined();
    expect(located).toMatchObject({ totals: { covered: 5, total: 7 }, outside: 0 });
    // A report made in another checkout (a container's /app): its filenames, relative to the root.
    const elsewhere = locateCoverage(parseCoverageReport('cobertura', sample('coveragepy-cobertura.xml').replace(`${ROOT}/src`, '/app')), [
      ROOT,
    ]);
    expect(linesOf(elsewhere, 'shop/price.py')?.get(4)).toBe(0);
  });

  it('Given a JaCoCo report, When it is parsed and located, Then its DOCTYPE is kept unfetched, entities are decoded and its source-root paths match as suffixes', () => {
    const report = parseCoverageReport('jacoco', sample('jacoco.xml'));
    expect(asObject(report)).toEqual({ 'com/example/shop/Price.java': { 3: 3, 5: 2, 6: 0, 7: 0, 9: 2 } });
    const located = locateCoverage(report, [ROOT]);
    expect(Object.fromEntries(linesOf(located, 'app/src/main/java/com/example/shop/Price.java')!)).toEqual({
      3: 3,
      5: 2,
      6: 0,
      7: 0,
      9: 2,
    });
    expect(linesOf(located, 'app/src/main/java/org/example/shop/Price.java')).toBeUndefined();
    expect(linesOf(located, 'src/main/java/com/example/shop/XPrice.java')).toBeUndefined();
  });

  it("Given Istanbul's coverage-summary.json, When it is parsed, Then it is refused: totals only, no lines", () => {
    expect(() => parseCoverageReport('istanbul-json', sample('coverage-summary.json'))).toThrow(/not a coverage-final\.json/);
  });

  it('Given an lcov report listing a file twice (two test processes), When it is parsed, Then the file is merged', () => {
    const report = parseCoverageReport('lcov', 'SF:src/a.js\nDA:1,0\nDA:2,1\nend_of_record\nSF:src/a.js\nDA:1,2\nend_of_record\n');
    expect(asObject(report)).toEqual({ 'src/a.js': { 1: 2, 2: 1 } });
  });

  describe('refuse hostile or broken reports with a CoverageReportError', () => {
    it.each<[string, CoverageFormat, string, RegExp]>([
      [
        'an entity declaration (billion laughs)',
        'cobertura',
        '<?xml version="1.0"?><!DOCTYPE coverage [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><coverage>&b;</coverage>',
        /internal subset/,
      ],
      ['an external entity', 'jacoco', '<!DOCTYPE report SYSTEM "report.dtd"><report name="&xxe;"></report>', /&xxe; is not predefined/],
      ['a truncated XML report', 'cobertura', sample('istanbul-cobertura.xml').slice(0, 600), /not closed|unterminated|malformed/],
      ['mismatched tags', 'jacoco', '<report><package name="a"></report></package>', /does not close/],
      ['text after the root', 'jacoco', '<report></report>junk', /outside the root/],
      ['the wrong root', 'cobertura', sample('jacoco.xml'), /root element is <report>/],
      [
        'a duplicated attribute',
        'cobertura',
        '<coverage><packages><package><classes><class filename="a" filename="b"/></classes></package></packages></coverage>',
        /given twice/,
      ],
      ['a negative line number', 'lcov', 'SF:a.js\nDA:-1,1\nend_of_record\n', /not a whole number/],
      ['line 0', 'lcov', 'SF:a.js\nDA:0,1\nend_of_record\n', /not a positive integer/],
      [
        'a hit count that is not a number',
        'cobertura',
        '<coverage><packages><package><classes><class filename="a.py"><lines><line number="1" hits="1e9"/></lines></class></classes></package></packages></coverage>',
        /not a whole number/,
      ],
      ['lcov without end_of_record (truncated)', 'lcov', 'SF:a.js\nDA:1,1\n', /no end_of_record/],
      ['a file that is not lcov', 'lcov', sample('coverage-final.json'), /not an lcov record/],
      ['an empty lcov', 'lcov', '\n', /no file records/],
      ['JSON that is not JSON', 'istanbul-json', '{"a":', /not JSON/],
      ['a NUL in a path', 'lcov', 'SF:a\0.js\nDA:1,1\nend_of_record\n', /usable path/],
      ['nesting deeper than 64', 'jacoco', `${'<report>'.repeat(70)}${'</report>'.repeat(70)}`, /deeper than 64/],
    ])('Given %s, When it is parsed, Then it is refused with a CoverageReportError saying why', (_what, format, text, message) => {
      expect(() => parseCoverageReport(format, text)).toThrow(CoverageReportError);
      expect(() => parseCoverageReport(format, text)).toThrow(message);
    });
  });
});

describe('report paths to repository paths', () => {
  it('Given report paths, When they are made repository paths, Then relative paths and absolute paths under a checkout root are accepted and the rest refused', () => {
    expect(repoRelative('src/a.js', [ROOT])).toBe('src/a.js');
    expect(repoRelative('./src/./a.js', [ROOT])).toBe('src/a.js');
    expect(repoRelative(`${ROOT}/src/a.js`, [ROOT, '/real/shop'])).toBe('src/a.js');
    expect(repoRelative('/real/shop/src/a.js', [ROOT, '/real/shop/'])).toBe('src/a.js');
    expect(repoRelative(`${ROOT}/../other/a.js`, [ROOT])).toBeUndefined();
    expect(repoRelative(`${ROOT}-evil/a.js`, [ROOT])).toBeUndefined();
    expect(repoRelative('/etc/passwd', [ROOT])).toBeUndefined();
    expect(repoRelative('../outside.js', [ROOT])).toBeUndefined();
    expect(repoRelative('src/../../outside.js', [ROOT])).toBeUndefined();
    expect(repoRelative('.git/config', [ROOT])).toBeUndefined();
    expect(repoRelative('src/a\n.js', [ROOT])).toBeUndefined();
    expect(repoRelative(ROOT, [ROOT])).toBeUndefined();
  });

  it('Given entries outside the repository, When a report is located, Then they count in the totals but never as a repository file', () => {
    const located = locateCoverage(
      parseCoverageReport(
        'lcov',
        'SF:/etc/passwd\nDA:1,1\nend_of_record\nSF:../x.js\nDA:1,0\nend_of_record\nSF:src/a.js\nDA:1,1\nend_of_record\n',
      ),
      [ROOT],
    );
    expect([...located.byPath.keys()]).toEqual(['src/a.js']);
    expect(located.outside).toBe(2);
    expect(located.totals).toEqual({ covered: 2, total: 3 });
  });
});

describe('added lines of a change', () => {
  it('Given a git diff -U0, When its added lines are read, Then they are the new-side numbers of + lines, deleted and binary files left out, quoted names unquoted', () => {
    expect(Object.fromEntries(addedLines(sample('change.diff')))).toEqual({
      'src/add.js': [3, 4, 5, 6],
      'src/tab\\there "q".js': [1],
      'src/é.js': [1, 2],
    });
  });

  it('Given a diff with context lines, When its added lines are read, Then context lines count in the line numbers but are not added lines', () => {
    const diff =
      'diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n+2b\n three\n@@ -10,0 +11 @@\n+eleven\n';
    expect(Object.fromEntries(addedLines(diff))).toEqual({ 'a.js': [2, 3, 11] });
  });
});

describe('coverage of a change', () => {
  const lcov = (files: Record<string, Record<number, number>>) =>
    Object.entries(files)
      .map(
        ([path, lines]) =>
          `SF:${path}\n${Object.entries(lines)
            .map(([l, h]) => `DA:${l},${h}`)
            .join('\n')}\nend_of_record`,
      )
      .join('\n');
  const read = (text: string) => ({ kind: 'read' as const, located: locateCoverage(parseCoverageReport('lcov', text), [ROOT]) });

  it('Given base and head reports and a change, When its coverage is computed, Then it shows the changed lines covered at head and the delta base → head', () => {
    // Given base and head reports and a change adding lines 3-6 of src/add.js and a README line
    const base = read(lcov({ 'src/add.js': { 1: 1, 2: 1, 3: 1 }, 'src/other.js': { 1: 0 } }));
    const head = read(lcov({ [`${ROOT}/src/add.js`]: { 1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 1 }, 'src/other.js': { 1: 0 } }));
    const added = new Map([
      ['src/add.js', [3, 4, 5, 6, 7]],
      ['README.md', [1]],
    ]);
    // When the evidence is computed
    const evidence = changeCoverage({ format: 'lcov', report: 'lcov.info', base, head, added });
    // Then 2 of the 4 executable added lines ran, line 7 is not executable, README is not in the report
    expect(ChangeCoverageEvidence.parse(evidence)).toEqual({
      format: 'lcov',
      report: 'lcov.info',
      changedLines: { added: 6, measured: 4, covered: 2, percent: 50 },
      files: [
        { path: 'src/add.js', added: 5, measured: 4, covered: 2, uncovered: '4-5', inReport: true },
        { path: 'README.md', added: 1, measured: 0, covered: 0, uncovered: '', inReport: false },
      ],
      filesNotListed: 0,
      base: { covered: 3, total: 4, percent: 75 },
      head: { covered: 4, total: 7, percent: 57.1 },
      deltaPoints: -17.9,
      notes: [],
    });
    const markdown = changeCoverageMarkdown(evidence);
    expect(markdown).toContain(
      '**Changed lines:** 2 of 4 added executable lines covered at head (50.0%); 2 added lines are not executable or not in the report.',
    );
    expect(markdown).toContain('**Line coverage:** 75.0% (3/4 lines) at base → 57.1% (4/7 lines) at head (−17.9 pts).');
    expect(markdown).toContain('| `src/add.js` | 5 | 2/4 | 4-5 |\n| `README.md` | 1 | not in report | – |');
  });

  it('Given a report missing at base or at head, When the coverage is computed, Then the evidence says why a figure is missing instead of inventing one', () => {
    const head = read(lcov({ 'src/add.js': { 3: 1 } }));
    const evidence = changeCoverage({
      format: 'lcov',
      report: 'lcov.info',
      base: { kind: 'unavailable', reason: 'the test command did not write lcov.info' },
      head,
      added: new Map([['src/add.js', [3]]]),
    });
    expect(evidence).toMatchObject({
      changedLines: { added: 1, measured: 1, covered: 1, percent: 100 },
      base: null,
      head: { percent: 100 },
      deltaPoints: null,
      notes: ['at base: the test command did not write lcov.info'],
    });
    expect(changeCoverageMarkdown(evidence)).toContain('**Line coverage:** no report at base → 100.0% (1/1 lines) at head.');
    const noHead = changeCoverage({
      format: 'lcov',
      report: 'lcov.info',
      base: head,
      head: { kind: 'unavailable', reason: 'not a lcov report' },
      added: new Map([['src/add.js', [3]]]),
    });
    expect(noHead).toMatchObject({ changedLines: null, files: [], deltaPoints: null, notes: ['at head: not a lcov report'] });
    expect(changeCoverageMarkdown(noHead)).toContain('**Changed lines:** no coverage report at head, so no figure.');
  });

  it('Given a change of more than 50 files, When the coverage is computed, Then at most 50 files are listed and the rest counted', () => {
    const head = read(lcov({ 'src/a.js': { 1: 1 } }));
    const added = new Map(Array.from({ length: 60 }, (_, i) => [`docs/f${String(i).padStart(2, '0')}.md`, [1]] as [string, number[]]));
    added.set('src/a.js', [1]);
    const evidence = changeCoverage({ format: 'lcov', report: 'lcov.info', base: head, head, added });
    expect(evidence.files).toHaveLength(50);
    expect(evidence.files[0]!.path).toBe('src/a.js');
    expect(evidence.filesNotListed).toBe(11);
  });

  it('Given uncovered line numbers, When they are written, Then they read as ranges, cut after a limit', () => {
    expect(ranges([9, 4, 5, 6, 1])).toBe('1, 4-6, 9');
    expect(ranges(Array.from({ length: 30 }, (_, i) => i * 2))).toMatch(/^0, 2, .*, 38, …$/);
  });
});
