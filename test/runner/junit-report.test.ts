import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJunitReport } from '../../runner/repo/test-results';
import { PathRefusedError } from '../../runner/tools/workspace-paths';

/** The JUnit file is read by the runner (root) but written by the tests (the tool user): it must stay inside the repository. */
describe('readJunitReport', () => {
  let root: string;
  let repo: string;
  let outside: string;
  const junit = (name: string) => `<testsuite><testcase classname="suite" name="${name}"/></testsuite>`;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nightshift-junit-'));
    repo = join(root, 'repo');
    outside = join(root, 'outside');
    mkdirSync(repo);
    mkdirSync(outside);
    writeFileSync(join(outside, 'junit.xml'), junit('secret outside'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('Given a regular file inside the repository, When it is read as a JUnit report, Then its results come back; a missing one is none', () => {
    mkdirSync(join(repo, 'reports'));
    writeFileSync(join(repo, 'reports', 'junit.xml'), junit('adds'));
    expect(readJunitReport(repo, 'reports/junit.xml')).toEqual({ 'suite › adds': 'pass' });
    expect(readJunitReport(repo, 'reports/missing.xml')).toBeUndefined();
  });

  it('Given a directory that is a symlink leading outside the repository, When a report is read through it, Then it is refused, never read', () => {
    // Given a directory in the repository that is a symlink to somewhere else
    symlinkSync(outside, join(repo, 'reports'));
    // When the named report is read through it, Then it is refused, never read
    expect(() => readJunitReport(repo, 'reports/junit.xml')).toThrow(PathRefusedError);
    expect(() => readJunitReport(repo, 'reports/junit.xml')).toThrow(/outside the repository/);
  });

  it('Given a last-component symlink, "..", an absolute path, a hard link or a FIFO, When the report is read, Then it is refused without hanging', () => {
    symlinkSync(join(outside, 'junit.xml'), join(repo, 'junit.xml'));
    expect(() => readJunitReport(repo, 'junit.xml')).toThrow(PathRefusedError);
    symlinkSync('junit-real.xml', join(repo, 'inside-link.xml'));
    writeFileSync(join(repo, 'junit-real.xml'), junit('x'));
    // A symlink within the repository resolves to its target there, which is fine.
    expect(readJunitReport(repo, 'inside-link.xml')).toEqual({ 'suite › x': 'pass' });
    expect(() => readJunitReport(repo, '../outside/junit.xml')).toThrow(PathRefusedError);
    expect(() => readJunitReport(repo, join(outside, 'junit.xml'))).toThrow(PathRefusedError);
    linkSync(join(outside, 'junit.xml'), join(repo, 'hard.xml'));
    expect(() => readJunitReport(repo, 'hard.xml')).toThrow(/hard link/);
    execFileSync('mkfifo', [join(repo, 'fifo.xml')]);
    expect(() => readJunitReport(repo, 'fifo.xml')).toThrow(/not a regular file/);
  });
});
