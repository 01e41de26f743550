import { microsToUsd, type TokenUsage } from '../../core/pricing';
import type { TestDelta, TestRunResult } from '../repo/test-results';
import { summarizeTests } from '../repo/test-results';

export interface PullRequestBodyInput {
  runId: string;
  prompt: string;
  issue: number | null;
  summary: string;
  risks: string | null;
  changedFiles: { status: string; path: string }[];
  refusedPaths: string[];
  baseTests: TestRunResult | undefined;
  headTests: TestRunResult | undefined;
  /** The `.nightshift.yml` checks section (base and head), when the repository has checks. */
  checks?: string | undefined;
  /** The coverage-of-the-change section (runner/session/coverage-phase.ts), when the repository names a coverage report. */
  coverage?: string | undefined;
  delta: TestDelta;
  baseCommit: string;
  usage: TokenUsage;
  modelMicros: number;
  computeMicros: number;
  /** Set when a recorded session served the run (docs/providers.md#recording-a-session: every run it serves says so). */
  replayed: string | null;
  /** The "Blocked hosts" section (core/egress blockedHostsMarkdown), empty when the proxy refused nothing. */
  blockedHosts?: string;
}

const usd = (micros: number) => `$${microsToUsd(micros).toFixed(4)}`;

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

function list(items: string[]): string {
  return items.length ? items.map((i) => `- \`${i.replace(/`/g, "'")}\``).join('\n') : '- none';
}

export function pullRequestTitle(prompt: string): string {
  const first =
    prompt
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'Nightshift run';
  return `Nightshift: ${first.length > 72 ? `${first.slice(0, 69)}...` : first}`;
}

/**
 * `Fixes #N` (GitHub closes the issue on merge) only when the tests at head passed; otherwise, or
 * with no test command, `Refs #N`: a run that could not show its change works does not close the issue.
 */
export function issueLink(issue: number, headTests: TestRunResult | undefined): string {
  return headTests?.passed && !headTests.timedOut ? `Fixes #${issue}` : `Refs #${issue}`;
}

export function pullRequestBody(input: PullRequestBodyInput): string {
  const sections: string[] = [];
  if (input.replayed)
    sections.push(
      `> [!NOTE]\n> **Replayed session.** This run was served by a ${input.replayed}: recorded model responses, not a live model.`,
    );
  sections.push(`## Goal\n${quote(input.prompt)}${input.issue !== null ? `\n\n${issueLink(input.issue, input.headTests)}` : ''}`);
  sections.push(`## Summary\n${input.summary}`);
  sections.push(
    `## Changed files\n${input.changedFiles.length ? input.changedFiles.map((c) => `- ${c.status} \`${c.path}\``).join('\n') : '- none'}`,
  );
  if (input.refusedPaths.length)
    sections.push(`## Protected paths left unchanged\nChanges to these paths were dropped from the commit:\n${list(input.refusedPaths)}`);
  const tests: string[] = [];
  if (input.headTests) {
    const base = input.baseTests ? `${summarizeTests(input.baseTests)} at base (\`${input.baseCommit.slice(0, 7)}\`)` : 'not run at base';
    tests.push(`\`${input.headTests.command}\`: ${base} → ${summarizeTests(input.headTests)} at head`);
    tests.push(`**Newly failing**\n${list(input.delta.newlyFailing)}`);
    tests.push(`**Newly passing**\n${list(input.delta.newlyPassing)}`);
    tests.push(`**Still failing**\n${list(input.delta.stillFailing)}`);
  } else tests.push("No test command is configured for this repository (`.nightshift.yml` `test`, or the config's `repos[].test`).");
  sections.push(`## Tests\n${tests.join('\n\n')}`);
  if (input.checks) sections.push(input.checks);
  if (input.coverage) sections.push(input.coverage);
  if (input.blockedHosts) sections.push(input.blockedHosts.trim());
  sections.push(`## Risks\n${input.risks ?? 'None noted by the agent. Review the changes as you would any contribution.'}`);
  const u = input.usage;
  sections.push(
    `## Usage\nTokens: ${u.input} input, ${u.output} output, ${u.cacheRead} cache read, ${u.cacheWrite} cache write.\n` +
      `Cost: ${usd(input.modelMicros + input.computeMicros)} (model ${usd(input.modelMicros)}, compute ${usd(input.computeMicros)}).\n\n` +
      `Nightshift run \`${input.runId}\`. This pull request is a draft: a human reviews and merges it.`,
  );
  return sections.join('\n\n');
}
