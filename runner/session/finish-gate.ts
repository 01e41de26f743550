import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeTests, testDelta, type TestDelta, type TestRunResult } from '../repo/test-results';
import { isDeleted, isTestPath, isUntracked, parseStatusZ, unreferencedScratch, type WorkspaceChange } from '../repo/workspace-changes';
import { checkDelta, runChecks, type CheckDelta, type CheckResult } from './checks-phase';
import type { RunContext } from './run-context';
import { runTests } from './test-phase';
import type { PreparedRun } from './prepared-run';

/** Names listed per section of the gate's report before "N more". */
const LISTED = 30;

export interface GateReview {
  /** The head tests, with the tests that failed once and passed on the re-run. */
  tests: TestRunResult | undefined;
  delta: TestDelta;
  flaky: string[];
  /** `.nightshift.yml` checks at head, and their delta against base. */
  checks: CheckResult[];
  checkDelta: CheckDelta;
  changes: WorkspaceChange[];
  newFiles: string[];
  scratch: string[];
  deletedTests: string[];
  editedTests: string[];
  diffStat: string;
}

export type GateVerdict = { accepted: true; text: string; review: GateReview } | { accepted: false; text: string; review: GateReview };

/**
 * The verification gate on `finish`. The first `finish` runs the tests at head (and re-runs once
 * when tests newly fail, to tell flakes apart), computes the delta against base, and lists the new
 * untracked files, the deleted and edited tests and the diff stat. When anything newly fails, a test
 * was deleted or a new file looks like scratch, all of that goes back to the agent as the tool
 * result, with what to do; the next `finish` is accepted whatever it finds, and the PR reports it.
 * When the workspace has not changed since the gate's test run, that run is the PR's head result.
 */
export class FinishGate {
  private rejected = false;
  private last: { fingerprint: string; review: GateReview } | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly prepared: PreparedRun,
    private readonly baseTests: TestRunResult | undefined,
    private readonly baseChecks: CheckResult[] = [],
  ) {}

  get hasRejected(): boolean {
    return this.rejected;
  }

  /** Reviews a `finish` call: accepted (the run delivers) or returned to the agent with the report. */
  async review(summary: string): Promise<GateVerdict> {
    const review = await this.runReview(summary);
    const problems = problemsOf(review);
    if (problems.length === 0 || this.rejected) {
      const text = [
        `Accepted. ${problems.length ? 'The pull request reports what is still wrong:' : 'Verification at head:'}`,
        report(review, this.baseTests),
        'The runner now commits, pushes and opens the draft pull request.',
      ].join('\n\n');
      await this.ctx.emit('note', `finish accepted${problems.length ? ` with ${problems.join(', ')}` : ''}`, { problems });
      return { accepted: true, text, review };
    }
    this.rejected = true;
    await this.ctx.emit('note', `finish returned to the agent: ${problems.join(', ')}`, { problems });
    const text = [
      `Not finished yet: ${problems.join('; ')}.`,
      report(review, this.baseTests),
      [
        'What to do:',
        review.checkDelta.newlyFailing.length ? '- Fix what the newly failing checks report (run them with `shell`).' : undefined,
        review.delta.newlyFailing.length
          ? '- Fix the newly failing tests (run them with `shell`), unless they fail for a reason outside this task: then say so in `risks`.'
          : undefined,
        review.deletedTests.length
          ? '- Restore deleted tests unless the task asks for their removal (then say so in the summary).'
          : undefined,
        review.scratch.length
          ? '- Delete scratch files, or name them in the `finish` summary if they belong to the change (unnamed scratch files are not committed).'
          : undefined,
        '- Then call `finish` again. The next `finish` is accepted as it is, and the pull request reports the results above honestly.',
      ]
        .filter((l) => l !== undefined)
        .join('\n'),
    ].join('\n\n');
    return { accepted: false, text, review };
  }

  /** The head tests for the PR: the gate's run when nothing changed since, else a new run. */
  async headTests(): Promise<{ tests: TestRunResult | undefined; flaky: string[]; checks: CheckResult[] }> {
    if (this.last && this.last.fingerprint === (await this.fingerprint()))
      return { tests: this.last.review.tests, flaky: this.last.review.flaky, checks: this.last.review.checks };
    const tests = await this.runHeadTests();
    return { tests, flaky: [], checks: await runChecks(this.ctx, this.prepared, 'head') };
  }

  /** A test run at head, with the heartbeat that follows each of the runner's phases. */
  private async runHeadTests(): Promise<TestRunResult | undefined> {
    const tests = await runTests(this.ctx, this.prepared, 'head');
    await this.ctx.heartbeat();
    return tests;
  }

  private async runReview(summary: string): Promise<GateReview> {
    const before = await this.fingerprint();
    let tests: TestRunResult | undefined;
    let flaky: string[] = [];
    let checks: CheckResult[];
    if (this.last && this.last.fingerprint === before) {
      ({ tests, flaky, checks } = this.last.review);
    } else {
      tests = await this.runHeadTests();
      const first = testDelta(this.baseTests, tests);
      if (first.newlyFailing.length && tests && Object.keys(tests.tests).length) {
        // One re-run: a test that passes now failed by chance (a flake), not because of the change.
        const again = await this.runHeadTests();
        flaky = first.newlyFailing.filter((name) => again?.tests[name] === 'pass');
        if (flaky.length)
          await this.ctx.emit('note', `flaky at head (failed, then passed on a re-run): ${flaky.slice(0, LISTED).join(', ')}`, {
            flaky: flaky.slice(0, 100),
          });
      }
      checks = await runChecks(this.ctx, this.prepared, 'head');
    }
    const changes = await this.changes();
    const delta = testDelta(this.baseTests, tests);
    delta.newlyFailing = delta.newlyFailing.filter((n) => !flaky.includes(n));
    const review: GateReview = {
      tests,
      delta,
      flaky,
      checks,
      checkDelta: checkDelta(this.baseChecks, checks),
      changes,
      newFiles: changes.filter(isUntracked).map((c) => c.path),
      scratch: unreferencedScratch(changes, summary),
      deletedTests: changes.filter((c) => isDeleted(c) && isTestPath(c.path)).map((c) => c.path),
      editedTests: changes.filter((c) => !isDeleted(c) && !isUntracked(c) && isTestPath(c.path)).map((c) => c.path),
      diffStat: (await this.prepared.repo.git.run(['diff', '--stat=100', 'HEAD'])).trimEnd(),
    };
    // Taken after the test run: files the tests themselves write are part of the state they ran in.
    this.last = { fingerprint: await this.fingerprint(), review };
    return review;
  }

  private async changes(): Promise<WorkspaceChange[]> {
    return parseStatusZ(await this.prepared.repo.git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']));
  }

  /** The checkout's state: HEAD, the status, and each changed path's size, mode and mtime. */
  private async fingerprint(): Promise<string> {
    const hash = createHash('sha256');
    hash.update(await this.prepared.repo.git.head());
    for (const change of await this.changes()) {
      hash.update(`\0${change.status}${change.path}`);
      try {
        const s = lstatSync(join(this.prepared.layout.repo, change.path), { bigint: true });
        hash.update(`:${s.size}:${s.mode}:${s.mtimeNs}:${s.ino}`);
      } catch {
        hash.update(':gone');
      }
    }
    return hash.digest('hex');
  }
}

function problemsOf(review: GateReview): string[] {
  const problems: string[] = [];
  const n = review.delta.newlyFailing.length;
  if (n) problems.push(`${n} test${n === 1 ? '' : 's'} newly failing`);
  if (review.tests?.timedOut) problems.push('the tests timed out');
  const c = review.checkDelta.newlyFailing;
  if (c.length) problems.push(`check${c.length === 1 ? '' : 's'} newly failing: ${c.join(', ')}`);
  if (review.deletedTests.length)
    problems.push(`${review.deletedTests.length} test file${review.deletedTests.length === 1 ? '' : 's'} deleted`);
  if (review.scratch.length)
    problems.push(
      `${review.scratch.length} new file${review.scratch.length === 1 ? '' : 's'} that look${review.scratch.length === 1 ? 's' : ''} like scratch`,
    );
  return problems;
}

function listed(title: string, items: readonly string[]): string {
  if (items.length === 0) return `${title}: none`;
  const shown = items.slice(0, LISTED).map((i) => `- ${i}`);
  if (items.length > LISTED) shown.push(`- … ${items.length - LISTED} more not shown`);
  return `${title}:\n${shown.join('\n')}`;
}

/** The gate's report, as the agent sees it. */
export function report(review: GateReview, base: TestRunResult | undefined): string {
  const lines: string[] = [];
  if (review.tests) {
    lines.push(
      `Tests (\`${review.tests.command}\`): ${base ? `${summarizeTests(base)} at base → ` : ''}${summarizeTests(review.tests)} at head.`,
    );
    lines.push(listed('Newly failing', review.delta.newlyFailing));
    if (review.flaky.length) lines.push(listed('Flaky (failed, then passed on a re-run)', review.flaky));
    lines.push(listed('Newly passing', review.delta.newlyPassing));
    if (review.delta.stillFailing.length)
      lines.push(listed('Failing at base and head (leave them unless the task is about them)', review.delta.stillFailing));
    if (!review.tests.passed && review.delta.newlyFailing.length)
      lines.push(`Test output (end):\n\`\`\`\n${review.tests.output.slice(-3_000)}\n\`\`\``);
  } else {
    lines.push('Tests: no test command is configured.');
  }
  if (review.checks.length) {
    lines.push(
      `Checks (.nightshift.yml): ${review.checks.map((c) => `${c.name} ${c.passed ? 'passed' : c.timedOut ? 'timed out' : 'failed'}`).join(', ')} at head.`,
    );
    lines.push(listed('Checks newly failing', review.checkDelta.newlyFailing));
    for (const name of review.checkDelta.newlyFailing) {
      const check = review.checks.find((c) => c.name === name)!;
      lines.push(`Check ${name} (\`${check.command}\`), output (end):\n\`\`\`\n${check.outputTail}\n\`\`\``);
    }
  }
  lines.push(listed('New files', review.newFiles));
  if (review.scratch.length)
    lines.push(listed('New files that look like scratch (not committed unless the finish summary names them)', review.scratch));
  if (review.deletedTests.length) lines.push(listed('Deleted tests', review.deletedTests));
  if (review.editedTests.length) lines.push(listed('Edited tests', review.editedTests));
  lines.push(review.diffStat ? `Diff stat (tracked files):\n${review.diffStat}` : 'Diff stat (tracked files): no changes');
  return lines.join('\n');
}
