import { runSandboxed } from '../isolation/sandbox';
import type { RunContext } from './run-context';
import { Interrupted } from './run-errors';
import type { TestPhase } from './test-phase';
import type { PreparedRun } from './prepared-run';

const DEFAULT_CHECK_TIMEOUT_SECONDS = 600;
/** The end of a check's output kept for the gate and the PR. */
const OUTPUT_TAIL_CHARS = 2_000;

export interface CheckResult {
  name: string;
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  outputTail: string;
}

export interface CheckDelta {
  newlyFailing: string[];
  newlyPassing: string[];
  stillFailing: string[];
}

/**
 * `.nightshift.yml` `checks` (lint, typecheck, build): each runs as the tool user in the repository
 * root, like the tests (the base run with the command environment, the head run with the head-test
 * environment), with a heartbeat timer, and passes when it exits 0.
 */
export async function runChecks(ctx: RunContext, prepared: PreparedRun, phase: TestPhase): Promise<CheckResult[]> {
  const checks = prepared.rules.repoFile.checks ?? [];
  const results: CheckResult[] = [];
  for (const check of checks) {
    ctx.checkStop();
    const timeoutSeconds = ctx.withinTimeBox(check.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS);
    const env = phase === 'base' ? prepared.commandEnv : prepared.headTestEnv;
    const result = await ctx.withHeartbeats((signal) =>
      runSandboxed({ command: check.run, cwd: prepared.layout.repo, timeoutMs: timeoutSeconds * 1_000, signal }, prepared.identity, env),
    );
    if (result.aborted) throw new Interrupted(`stopped while running the check ${check.name} at ${phase}`);
    results.push({
      name: check.name,
      command: check.run,
      passed: result.exitCode === 0,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      outputTail: result.output.slice(-OUTPUT_TAIL_CHARS),
    });
  }
  if (results.length) {
    await ctx.emit(
      'note',
      `checks at ${phase}: ${results.map((r) => `${r.name} ${r.passed ? 'passed' : r.timedOut ? 'timed out' : 'failed'}`).join(', ')}`,
      { phase, checks: results.map((r) => ({ name: r.name, passed: r.passed, exitCode: r.exitCode, timedOut: r.timedOut })) },
    );
    await ctx.heartbeat();
  }
  return results;
}

export function checkDelta(base: readonly CheckResult[], head: readonly CheckResult[]): CheckDelta {
  const delta: CheckDelta = { newlyFailing: [], newlyPassing: [], stillFailing: [] };
  for (const h of head) {
    const b = base.find((c) => c.name === h.name);
    if (!h.passed && (!b || b.passed)) delta.newlyFailing.push(h.name);
    else if (!h.passed) delta.stillFailing.push(h.name);
    else if (b && !b.passed) delta.newlyPassing.push(h.name);
  }
  return delta;
}

/** The checks section of the PR body; undefined when the repository has none. */
export function checksMarkdown(base: readonly CheckResult[], head: readonly CheckResult[]): string | undefined {
  if (head.length === 0) return undefined;
  const state = (r: CheckResult | undefined) => (r === undefined ? 'not run' : r.passed ? 'passed' : r.timedOut ? 'timed out' : 'failed');
  const rows = head.map((h) => `| ${h.name} | ${state(base.find((b) => b.name === h.name))} | ${state(h)} |`);
  return `## Checks\n| check | base | head |\n|---|---|---|\n${rows.join('\n')}`;
}
