import type { WorkspaceGit } from '../git/workspace-git';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { blockedHostsMarkdown } from '../../core/egress';
import { inertMarkdown } from '../../core/text/inert-markdown';
import { iterationReply } from '../github/iteration-reply';
import { pullRequestBody, pullRequestTitle } from '../github/pull-request-body';
import type { ModelBudget } from '../model-budget';
import { testDelta, type TestRunResult } from '../repo/test-results';
import type { AgentEnd } from './loop-state';
import type { ComputeMeter } from './compute-meter';
import type { FinishGate } from './finish-gate';
import { checkDelta, checksMarkdown, type CheckResult } from './checks-phase';
import { changeCoverageSection } from './coverage-phase';
import { isScratchPath } from '../repo/workspace-changes';
import type { RefusedHostsReport } from './refused-hosts-report';
import type { RunContext } from './run-context';
import type { RunEnd } from './run-errors';
import type { PreparedRun } from './prepared-run';

const SUMMARY_LIMIT = 4_000;

export interface StagedChanges {
  changed: boolean;
  changes: { status: string; path: string }[];
  refused: string[];
}

export interface DeliveryInput {
  prepared: PreparedRun;
  budget: ModelBudget;
  meter: ComputeMeter;
  refusedHosts: RefusedHostsReport;
  baseTests: TestRunResult | undefined;
  baseChecks: CheckResult[];
  gate: FinishGate;
}

/**
 * A change run's delivery: the tests at head, one commit of what the agent changed (protected paths
 * and files holding a secret left out), the push of the run branch and a draft PR opened or updated.
 * (A pause never gets here: runner/session/checkpoint.ts keeps it.)
 */
export async function deliver(ctx: RunContext, agentEnd: AgentEnd, input: DeliveryInput): Promise<RunEnd> {
  const { prepared, budget, meter } = input;
  const { run } = ctx;
  const { repo } = prepared;
  if (agentEnd.kind === 'pause') throw new Error('a pause is checkpointed, not delivered');
  const summary =
    agentEnd.kind === 'control' && agentEnd.control.kind === 'finish'
      ? agentEnd.control.summary
      : agentEnd.kind === 'end_turn'
        ? agentEnd.text || 'The agent ended without a summary.'
        : `The run stopped at the turn limit (${ctx.config.model.maxTurns} model turns) before the agent finished.`;
  const agentRisks =
    agentEnd.kind === 'control' && agentEnd.control.kind === 'finish'
      ? agentEnd.control.risks
      : agentEnd.kind === 'turn_limit'
        ? 'The agent did not finish: the change may be incomplete.'
        : 'The agent stopped without calling `finish`: the change was not verified by the finish gate and may be incomplete.';

  // The gate's test run when nothing changed since `finish` (no extra cost), else a new one.
  const { tests: headTests, flaky, checks: headChecks } = await input.gate.headTests();
  const checksDelta = checkDelta(input.baseChecks, headChecks);
  const delta = testDelta(input.baseTests, headTests);
  const runnerRisks = [
    flaky.length
      ? `Flaky at head (failed, then passed on a re-run): ${flaky.slice(0, 20).join(', ')}${flaky.length > 20 ? ` and ${flaky.length - 20} more` : ''}.`
      : undefined,
    input.gate.hasRejected && delta.newlyFailing.length
      ? `The agent finished after the finish gate reported ${delta.newlyFailing.length} newly failing test(s).`
      : undefined,
    checksDelta.newlyFailing.length ? `Checks newly failing at head: ${checksDelta.newlyFailing.join(', ')}.` : undefined,
  ].filter((r) => r !== undefined);
  const risks = agentRisks || runnerRisks.length ? [agentRisks, ...runnerRisks].filter((r) => r).join('\n\n') : null;
  const staged = await stageChanges(ctx, prepared, summary);
  // A resumed task that changed nothing more still delivers what the run's earlier tasks pushed.
  const earlier = staged.changed ? undefined : await earlierTaskCommit(repo.git, run.runId);
  if (!staged.changed && earlier === undefined) {
    await ctx.emit('note', 'no changes: nothing to commit, no pull request', {});
    return {
      kind: 'succeeded',
      result: { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: summary.slice(0, SUMMARY_LIMIT) },
    };
  }
  const title = pullRequestTitle(run.prompt);
  if (earlier !== undefined)
    await ctx.emit(
      'note',
      `nothing more changed in this task: the pull request carries what the run's earlier tasks pushed (${earlier.slice(0, 12)})`,
      { commit: earlier },
    );
  const commit = earlier ?? (await repo.git.commit(ctx.redactor.redact(`${title}\n\n${summary}\n\nNightshift-Run: ${run.runId}`)));
  await ctx.withHeartbeats(() => repo.pushBranch());
  await ctx.emit('note', `pushed ${commit.slice(0, 12)} to ${repo.branch}`, { commit, branch: repo.branch });
  await ctx.heartbeat();
  const coverage = await changeCoverageSection(ctx, prepared, { base: input.baseTests, head: headTests, commit });

  await meter.chargeFinal();
  // The tools' last network use was the head tests: the refusals are complete now.
  const blocked = await input.refusedHosts.collect(prepared.proxy);
  const totals = budget.totals;
  // Model-written text cannot make GitHub fetch or link anything outside the repository.
  const inert = (markdown: string) => inertMarkdown(markdown, { allowedUrlPrefixes: repo.webUrl ? [repo.webUrl] : [] });
  const body = ctx.redactor.redact(
    inert(
      pullRequestBody({
        runId: run.runId,
        prompt: run.prompt,
        issue: run.issue,
        summary,
        risks,
        changedFiles: staged.changes,
        refusedPaths: staged.refused,
        baseTests: input.baseTests,
        headTests,
        delta,
        checks: checksMarkdown(input.baseChecks, headChecks),
        coverage,
        baseCommit: repo.baseCommit,
        usage: totals.usage,
        modelMicros: totals.modelMicros,
        computeMicros: meter.chargedMicros,
        replayed: ctx.deps.model.kind === 'replay' ? ctx.deps.model.description : null,
        blockedHosts: blockedHostsMarkdown(blocked),
      }),
    ),
  );
  const existing = await repo.github.findOpenPull(repo.branch);
  const pr = existing
    ? await repo.github.updatePull(existing.number, { title, body })
    : await repo.github.createDraftPull({ title, body, head: repo.branch, base: repo.baseBranch });
  // A run from a GitHub thread says it in its status comment (core/github/run-status.ts) instead.
  if (!existing && run.issue !== null && !run.thread)
    await repo.github.commentOnIssue(run.issue, `Nightshift opened a draft pull request for this issue: ${pr.url}`);
  if (existing && (run.source === 'github_comment' || run.source === 'github_ci')) {
    // A /nightshift iteration (or a CI fix run) answers on its pull request with what it changed.
    const reply = iterationReply({
      runId: run.runId,
      requester: run.requester,
      branch: repo.branch,
      commits: [{ sha: commit, subject: title }],
      changedFiles: staged.changes,
      baseTests: input.baseTests,
      headTests,
      delta,
    });
    try {
      await repo.github.commentOnIssue(existing.number, ctx.redactor.redact(reply));
    } catch (err) {
      ctx.log.warn('could not reply on the pull request', { error: ctx.redactor.redact((err as Error).message) });
    }
  }
  await ctx.patchRun({ prUrl: pr.url });
  await ctx.emit('note', `${existing ? 'updated' : 'opened'} draft pull request ${pr.url}`, { prUrl: pr.url, number: pr.number });
  return {
    kind: 'succeeded',
    result: {
      outcome: existing ? 'pr_updated' : 'pr_opened',
      branch: repo.branch,
      prUrl: pr.url,
      question: null,
      summary: summary.slice(0, SUMMARY_LIMIT),
    },
  };
}

/**
 * Stages everything except protected paths (a shell command may have changed them), files holding a
 * secret, and scratch: a new file whose name says scratch (runner/repo/workspace-changes.ts) that
 * `summary` (the agent's finish summary) does not name.
 */
export async function stageChanges(ctx: RunContext, prepared: PreparedRun, summary = ''): Promise<StagedChanges> {
  const { git } = prepared.repo;
  await git.stageAll();
  let all = await git.stagedChanges('HEAD');
  const scratch = all.filter((c) => c.status === 'A' && isScratchPath(c.path) && !summary.includes(c.path)).map((c) => c.path);
  if (scratch.length) {
    await git.unstage(scratch);
    await ctx.emit('note', `scratch files were left out of the commit: ${scratch.join(', ')}`, { scratch });
    all = all.filter((c) => !scratch.includes(c.path));
  }
  // The coverage report is the tests' output, not part of the change.
  const report = prepared.rules.repoFile.coverage?.report;
  const reportChange = all.find((c) => report !== undefined && c.path === posix.normalize(report));
  if (reportChange) {
    await git.unstage([reportChange.path]);
    await ctx.emit('note', `the coverage report ${reportChange.path} was left out of the commit`, { coverageReport: reportChange.path });
    all = all.filter((c) => c !== reportChange);
  }
  const refused = all.filter((c) => prepared.rules.protectedPaths.match(c.path)).map((c) => c.path);
  if (refused.length) {
    await git.unstage(refused);
    await ctx.emit('note', `changes to protected paths were left out of the commit: ${refused.join(', ')}`, { refused });
  }
  // The head tests run agent-written code with the repo's secrets: a file that captured one is never pushed.
  const leaking = all
    .filter((c) => !refused.includes(c.path) && c.status !== 'D' && fileHoldsSecret(ctx, prepared, c.path))
    .map((c) => c.path);
  if (leaking.length) {
    await git.unstage(leaking);
    await ctx.emit('note', `files holding a secret value were left out of the commit: ${leaking.join(', ')}`, { leaking });
    refused.push(...leaking);
  }
  // A symlink that points outside the repository would hand whoever checks out the branch a link to their own files.
  const escaping = all
    .filter((c) => !refused.includes(c.path) && c.status !== 'D' && symlinkLeavesRepo(prepared.layout.repo, c.path))
    .map((c) => c.path);
  if (escaping.length) {
    await git.unstage(escaping);
    await ctx.emit('note', `symlinks pointing outside the repository were left out of the commit: ${escaping.join(', ')}`, { escaping });
    refused.push(...escaping);
  }
  const changed = await git.hasStagedChanges();
  return { changed, changes: changed ? await git.stagedChanges('HEAD') : [], refused };
}

/** True for a symlink whose target is absolute or resolves (lexically, from the link's directory) outside the repository. */
export function symlinkLeavesRepo(repoRoot: string, path: string): boolean {
  let target: string;
  try {
    if (!lstatSync(join(repoRoot, path)).isSymbolicLink()) return false;
    target = readlinkSync(join(repoRoot, path));
  } catch {
    return true;
  }
  if (isAbsolute(target) || target.includes('\\')) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../') || resolved.split('/')[0]?.toLowerCase() === '.git';
}

function fileHoldsSecret(ctx: RunContext, prepared: PreparedRun, path: string): boolean {
  try {
    const full = join(prepared.layout.repo, path);
    const stat = lstatSync(full);
    const text = stat.isSymbolicLink()
      ? readlinkSync(full)
      : stat.isFile() && stat.size <= 20 * 1024 * 1024
        ? readFileSync(full, 'utf8')
        : '';
    return ctx.redactor.containsKnownSecret(text);
  } catch {
    // Unreadable now: it cannot be committed as something we did not check.
    return true;
  }
}

/**
 * The newest commit on the branch an earlier task of this run made (a pause's or an interruption's
 * work in progress, which carries the run's trailer), or undefined. A task resumed after its agent had
 * already made the change must deliver it, not end `no_changes` because its own task changed nothing.
 */
export async function earlierTaskCommit(git: Pick<WorkspaceGit, 'run'>, runId: string): Promise<string | undefined> {
  const out = await git.run(['log', '-n', '50', '--fixed-strings', `--grep=Nightshift-Run: ${runId}`, '--format=%H', 'HEAD']);
  return out
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim();
}

/** Commits whatever the agent changed and pushes it to the run branch. False when there was nothing. */
export async function pushWorkInProgress(ctx: RunContext, prepared: PreparedRun, reason: string): Promise<boolean> {
  const { repo } = prepared;
  const staged = await stageChanges(ctx, prepared);
  if (!staged.changed) return false;
  const commit = await repo.git.commit(
    ctx.redactor.redact(
      `WIP: ${pullRequestTitle(ctx.run.prompt)}\n\nWork in progress, pushed because ${reason}.\n\nNightshift-Run: ${ctx.run.runId}`,
    ),
  );
  await repo.pushBranch();
  await ctx.emit('note', `work in progress pushed to ${repo.branch} (${reason})`, { commit, branch: repo.branch, reason });
  return true;
}
