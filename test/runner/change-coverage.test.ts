import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChangeCoverageEvidence } from '../../core/change-coverage/change-coverage';
import { listPulls } from '../../local/forge';
import { parseNightshiftYml, RepoSettingsFileError } from '../../runner/repo/repo-settings-file';
import { coverageStampBefore, readCoverage } from '../../runner/session/coverage-phase';
import { REPO, session, startInProcessRun, startRunnerHarness, writeProject, type RunnerHarness } from './support/runner-harness';

const samples = resolve(__dirname, '../fixtures/coverage-reports');

describe('.nightshift.yml coverage', () => {
  it('Given a coverage section in .nightshift.yml, When it is parsed, Then it names a relative report and one of the formats, or is refused', () => {
    expect(parseNightshiftYml('coverage:\n  report: coverage/lcov.info\n  format: lcov\n').coverage).toEqual({
      report: 'coverage/lcov.info',
      format: 'lcov',
    });
    expect(() => parseNightshiftYml('coverage:\n  report: /tmp/lcov.info\n  format: lcov\n')).toThrow(RepoSettingsFileError);
    expect(() => parseNightshiftYml('coverage:\n  report: ../lcov.info\n  format: lcov\n')).toThrow(
      /coverage\.report: must be a relative path/,
    );
    expect(() => parseNightshiftYml('coverage:\n  report: coverage/coverage-summary.json\n  format: json-summary\n')).toThrow(
      /coverage\.format/,
    );
    expect(() => parseNightshiftYml('coverage:\n  report: lcov.info\n')).toThrow(/coverage\.format/);
  });
});

/** The report is written by the tests (agent-written code): read it as hostile input. */
describe('reading the coverage report after a test run', () => {
  const lcov = { report: 'coverage/lcov.info', format: 'lcov' as const };
  let root: string;
  let repo: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nightshift-coverage-'));
    repo = join(root, 'repo');
    outside = join(root, 'outside');
    mkdirSync(repo);
    mkdirSync(outside);
    writeFileSync(join(outside, 'lcov.info'), readFileSync(join(samples, 'node-test.lcov.info')));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('Given a report the test run wrote, When it is read, Then absolute paths under the checkout are mapped to repository paths', () => {
    const before = coverageStampBefore(repo, lcov);
    expect(before).toBeUndefined();
    mkdirSync(join(repo, 'coverage'));
    writeFileSync(
      join(repo, 'coverage', 'lcov.info'),
      `SF:${repo}/src/a.js\nDA:1,1\nDA:2,0\nend_of_record\nSF:/usr/lib/node/x.js\nDA:1,1\nend_of_record\n`,
    );
    const reading = readCoverage(repo, lcov, before);
    expect(reading?.kind).toBe('read');
    if (reading?.kind !== 'read') return;
    expect([...reading.located.byPath.keys()]).toEqual(['src/a.js']);
    expect(reading.located).toMatchObject({ totals: { covered: 2, total: 3 }, outside: 1 });
  });

  it('Given a report the run did not write, did not rewrite, or that is not the format, When it is read, Then there is no figure, with a reason', () => {
    expect(readCoverage(repo, lcov, undefined)).toEqual({
      kind: 'unavailable',
      reason: 'the test command did not write coverage/lcov.info',
    });
    mkdirSync(join(repo, 'coverage'));
    writeFileSync(join(repo, 'coverage', 'lcov.info'), 'SF:a.js\nDA:1,1\nend_of_record\n');
    // A report left from an earlier run (the same file, untouched) is not this run's evidence.
    const stamp = coverageStampBefore(repo, lcov);
    expect(readCoverage(repo, lcov, stamp)).toEqual({
      kind: 'unavailable',
      reason: 'coverage/lcov.info was not rewritten by this test run (it is left from before)',
    });
    writeFileSync(join(repo, 'coverage', 'lcov.info'), readFileSync(join(samples, 'jacoco.xml')));
    expect(readCoverage(repo, lcov, stamp)).toEqual({
      kind: 'unavailable',
      reason: 'coverage/lcov.info is not a lcov report: lcov line 1 is not an lcov record',
    });
    writeFileSync(join(repo, 'coverage', 'lcov.info'), '<!DOCTYPE r [<!ENTITY a "a">]><coverage/>');
    expect(readCoverage(repo, { report: 'coverage/lcov.info', format: 'cobertura' }, undefined)).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/internal subset is refused/),
    });
  });

  it('Given a report path that is a symlink out of the workspace, a hard link or a FIFO, When it is read, Then it is refused without hanging', () => {
    symlinkSync(outside, join(repo, 'coverage'));
    expect(readCoverage(repo, lcov, undefined)).toEqual({
      kind: 'unavailable',
      reason: 'coverage report path "coverage/lcov.info" refused: leads outside the repository (symlink)',
    });
    rmSync(join(repo, 'coverage'));
    mkdirSync(join(repo, 'coverage'));
    symlinkSync(join(outside, 'lcov.info'), join(repo, 'coverage', 'lcov.info'));
    expect(readCoverage(repo, lcov, undefined)).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/refused/) });
    rmSync(join(repo, 'coverage', 'lcov.info'));
    linkSync(join(outside, 'lcov.info'), join(repo, 'coverage', 'lcov.info'));
    expect(readCoverage(repo, lcov, undefined)).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/more than one hard link/),
    });
    rmSync(join(repo, 'coverage', 'lcov.info'));
    execFileSync('mkfifo', [join(repo, 'coverage', 'lcov.info')]);
    expect(readCoverage(repo, lcov, undefined)).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/not a regular file/) });
  });
});

describe('coverage of the change in a run', () => {
  const TEST =
    'node --test --experimental-test-coverage --test-reporter=tap --test-reporter-destination=stdout --test-reporter=lcov --test-reporter-destination=lcov.info test/add.test.js';
  let h: RunnerHarness;
  beforeAll(async () => {
    const project = writeProject(mkdtempSync(join(tmpdir(), 'nightshift-coverage-run-')), {
      '.nightshift.yml': `test: ${TEST}\ncoverage:\n  report: lcov.info\n  format: lcov\n`,
      'test/add.test.js':
        "const test = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('../src/add');\n\ntest('add adds two numbers', () => {\n  assert.strictEqual(add(2, 3), 5);\n});\n",
    });
    h = await startRunnerHarness({ project });
  });
  afterAll(async () => {
    await h.stop();
  });

  it("Given a test command that writes lcov and an agent adding an untested branch, When the run delivers, Then the PR body and the run's events show the changed lines' coverage at head and the delta from base", async () => {
    // Given a repository whose test command writes lcov (node --test), and an agent adding an untested branch
    const run = await h.createRun({ prompt: 'Fix add and refuse a missing argument' });
    // When the run delivers
    const { end } = await startInProcessRun(h, run.runId, session('coverage-change')).done;
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    // Then the PR body shows the added lines 3-6 of src/add.js: 2 of 4 ran, the throw (4-5) did not
    const pr = listPulls(h.forgeRoot, REPO)[0]!;
    expect(pr.body).toContain('## Coverage of the change\nFrom `lcov.info` (lcov), written by the test command at base and at head.');
    expect(pr.body).toContain('**Changed lines:** 2 of 4 added executable lines covered at head (50.0%).');
    expect(pr.body).toContain('**Line coverage:** 100.0% (13/13 lines) at base → 87.5% (14/16 lines) at head (−12.5 pts).');
    expect(pr.body).toContain('| `src/add.js` | 4 | 2/4 | 4-5 |');
    // And the figures are in a note event for GitHub's check run
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    const note = events.find((e) => e.message.startsWith('coverage of the change'))!;
    expect(note.message).toBe('coverage of the change: 2 of 4 changed executable lines covered; line coverage 100% → 87.5%');
    expect(ChangeCoverageEvidence.parse(note.detail!.coverage)).toMatchObject({
      changedLines: { added: 4, measured: 4, covered: 2, percent: 50 },
      deltaPoints: -12.5,
      notes: [],
    });
    expect(events.filter((e) => e.type === 'test_result').map((e) => e.detail!.coverage)).toEqual([
      { totals: { covered: 13, total: 13 } },
      { totals: { covered: 14, total: 16 } },
    ]);
    // And the report the tests wrote is not committed
    expect(events.map((e) => e.message)).toContain('the coverage report lcov.info was left out of the commit');
    const files = execFileSync(
      'git',
      ['--git-dir', h.bare, 'ls-tree', '-r', '--name-only', `refs/heads/${end.kind === 'succeeded' ? end.result.branch : ''}`],
      { encoding: 'utf8' },
    );
    expect(files.split('\n')).not.toContain('lcov.info');
    expect(files.split('\n')).toContain('src/add.js');
  });
});
