import { parseTestOutput, readJunitReport, type TestRunResult, type TestState } from '../repo/test-results';
import { runSandboxed } from '../isolation/sandbox';
import { PathRefusedError } from '../tools/workspace-paths';
import type { RunContext } from './run-context';
import { coverageDetail, coverageStampBefore, readCoverage } from './coverage-phase';
import { announceToolStart } from './tool-start';
import { Interrupted } from './run-errors';
import type { PreparedRun } from './prepared-run';

export const DEFAULT_TEST_TIMEOUT_SECONDS = 900;

export type TestPhase = 'base' | 'head';

/** Runs the repository's test command (none configured: undefined) and records its per-test results. */
export async function runTests(ctx: RunContext, prepared: PreparedRun, phase: TestPhase): Promise<TestRunResult | undefined> {
  const { repoFile, testCommand: command } = prepared.rules;
  if (!command) return undefined;
  ctx.checkStop();
  const timeoutSeconds = ctx.withinTimeBox(repoFile.testTimeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS);
  const env = phase === 'base' ? prepared.commandEnv : prepared.headTestEnv;
  const coverageStamp = coverageStampBefore(prepared.layout.repo, repoFile.coverage);
  await announceToolStart(ctx, { name: `tests at ${phase}`, input: { command }, turn: 0 });
  const result = await ctx.withHeartbeats((signal) =>
    runSandboxed({ command, cwd: prepared.layout.repo, timeoutMs: timeoutSeconds * 1_000, signal }, prepared.identity, env),
  );
  if (result.aborted) throw new Interrupted(`stopped while running the tests at ${phase}`);
  const junit = repoFile.testResults ? await junitReport(ctx, prepared, repoFile.testResults) : undefined;
  const parsed = junit ? { format: 'junit' as const, tests: junit } : parseTestOutput(result.output);
  const coverage = readCoverage(prepared.layout.repo, repoFile.coverage, coverageStamp);
  const tests: TestRunResult = {
    command,
    passed: result.exitCode === 0,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    tests: parsed.tests,
    format: parsed.format,
    output: result.output,
    durationMs: result.durationMs,
    ...(coverage ? { coverage } : {}),
  };
  ctx.trace.record({
    type: 'test_result',
    phase,
    command,
    passed: tests.passed,
    format: tests.format,
    tests: tests.tests,
    output: result.output,
  });
  const failed = Object.entries(tests.tests)
    .filter(([, s]) => s === 'fail')
    .map(([n]) => n);
  await ctx.emit('test_result', `tests at ${phase}: ${tests.passed ? 'passed' : 'failed'}${tests.timedOut ? ' (timed out)' : ''}`, {
    phase,
    command,
    passed: tests.passed,
    exitCode: tests.exitCode,
    format: tests.format,
    total: Object.keys(tests.tests).length,
    failed: failed.slice(0, 50),
    durationMs: tests.durationMs,
    ...(coverage ? { coverage: coverageDetail(coverage) } : {}),
  });
  return tests;
}

/** The repo's JUnit file; a refused path (leaving the repository, a symlink, not a regular file) falls back to the output. */
async function junitReport(ctx: RunContext, prepared: PreparedRun, path: string): Promise<Record<string, TestState> | undefined> {
  try {
    return readJunitReport(prepared.layout.repo, path);
  } catch (err) {
    if (!(err instanceof PathRefusedError)) throw err;
    await ctx.emit('note', `testResults: ${err.message}; per-test results come from the test output`, { testResults: path });
    return undefined;
  }
}
