import { realpathSync } from 'node:fs';
import { addedLines } from '../../core/change-coverage/added-lines';
import { changeCoverage, changeCoverageMarkdown, locateCoverage, type CoverageReading } from '../../core/change-coverage/change-coverage';
import { CoverageReportError, parseCoverageReport } from '../../core/change-coverage/report-formats';
import { GitCommandError } from '../git/workspace-git';
import type { NightshiftYml } from '../repo/repo-settings-file';
import { readReportFile, reportFileStamp } from '../repo/report-file';
import type { TestRunResult } from '../repo/test-results';
import { PathRefusedError } from '../tools/workspace-paths';
import type { RunContext } from './run-context';
import type { PreparedRun } from './prepared-run';

/** Large projects' lcov and coverage-final.json run to tens of MB; past this the run shows no figure. */
const MAX_COVERAGE_REPORT_BYTES = 64 * 1024 * 1024;

type CoverageSettings = NightshiftYml['coverage'];

/** The coverage report's stamp before a test run (undefined: none configured, or no file yet). */
export function coverageStampBefore(repoRoot: string, coverage: CoverageSettings): string | undefined {
  return coverage ? reportFileStamp(repoRoot, coverage.report) : undefined;
}

/**
 * After a test run: the `.nightshift.yml` coverage report it wrote, located in the repository, or why
 * there is none. A report left from before the run (same stamp), a refused path, an oversized or
 * unparseable file each give no figure and a reason; none of them fails the run.
 */
export function readCoverage(root: string, coverage: CoverageSettings, stampBefore: string | undefined): CoverageReading | undefined {
  if (!coverage) return undefined;
  const { report, format } = coverage;
  let file: ReturnType<typeof readReportFile>;
  try {
    file = readReportFile(root, report, MAX_COVERAGE_REPORT_BYTES);
  } catch (err) {
    if (err instanceof PathRefusedError) return { kind: 'unavailable', reason: `coverage report ${err.message}` };
    // The tools can make the file unreadable (mode 000 when they run as the runner's user).
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { kind: 'unavailable', reason: `${report} could not be read (${code})` };
    throw err;
  }
  if (file.kind === 'absent') return { kind: 'unavailable', reason: `the test command did not write ${report}` };
  if (file.kind === 'too_large')
    return { kind: 'unavailable', reason: `${report} is ${file.bytes} bytes, more than the ${MAX_COVERAGE_REPORT_BYTES} the runner reads` };
  if (stampBefore !== undefined && file.stamp === stampBefore)
    return { kind: 'unavailable', reason: `${report} was not rewritten by this test run (it is left from before)` };
  try {
    // Absolute paths in the report are under the checkout as the tests saw it (cwd), or its real path.
    return { kind: 'read', located: locateCoverage(parseCoverageReport(format, file.text), [...new Set([root, realpathSync(root)])]) };
  } catch (err) {
    // Whatever the report holds, it costs the run its coverage figure, never the run.
    const reason = err instanceof CoverageReportError ? err.message : `${(err as Error).name}: ${(err as Error).message}`;
    return { kind: 'unavailable', reason: `${report} is not a ${format} report: ${reason.slice(0, 300)}` };
  }
}

/** A test result event's coverage detail: the totals, or the reason there are none. */
export function coverageDetail(reading: CoverageReading | undefined): Record<string, unknown> | undefined {
  if (!reading) return undefined;
  return reading.kind === 'read' ? { totals: reading.located.totals } : { unavailable: reading.reason };
}

/**
 * The PR body's coverage section for the delivered commit: the lines it adds against the run's base
 * commit, their coverage in the head report, and the report's coverage at base and head. The figures
 * also go into a `note` event (detail `coverage`, core/change-coverage ChangeCoverageEvidence) for the
 * GitHub check run. Undefined when the repository names no coverage report.
 */
export async function changeCoverageSection(
  ctx: RunContext,
  prepared: PreparedRun,
  tests: { base: TestRunResult | undefined; head: TestRunResult | undefined; commit: string },
): Promise<string | undefined> {
  const coverage = prepared.rules.repoFile.coverage;
  if (!coverage) return undefined;
  const { git, baseCommit } = prepared.repo;
  let added = new Map<string, number[]>();
  let diffProblem: string | undefined;
  try {
    added = addedLines(
      await git.run(['diff', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', baseCommit, tests.commit, '--']),
    );
  } catch (err) {
    // An agent-made diff too large for the buffer: the PR still opens, without the changed lines' figure.
    if (!(err instanceof GitCommandError)) throw err;
    diffProblem = `the change's diff could not be read (${err.message.slice(0, 200)}), so its lines are not counted`;
  }
  const evidence = changeCoverage({
    format: coverage.format,
    report: coverage.report,
    base: tests.base?.coverage,
    head: tests.head?.coverage,
    added,
  });
  if (diffProblem) evidence.notes.push(diffProblem);
  const c = evidence.changedLines;
  const summary = c
    ? c.measured
      ? `${c.covered} of ${c.measured} changed executable lines covered`
      : 'no changed line is in the report'
    : 'no report at head';
  const delta = evidence.deltaPoints === null ? '' : `; line coverage ${evidence.base?.percent}% → ${evidence.head?.percent}%`;
  await ctx.emit('note', `coverage of the change: ${summary}${delta}`, { coverage: evidence });
  return changeCoverageMarkdown(evidence);
}
