import type { NightshiftConfig } from '../config/schema';
import { isTerminal } from '../runs/lifecycle';
import type { SubmitInput } from '../runs/submit';
import type { AutofixAttemptsPort } from '../store/autofix-attempts-port';
import type { RunEventLog, RunRecord, RunRepository } from '../store/ports';
import type { ThreadStorePort } from '../store/thread-store-port';
import { Redactor } from '../text/redaction';
import {
  capComment,
  failingJobs,
  fixPrompt,
  LOG_TAIL_BYTES,
  preexistingComment,
  preexistingFailure,
  pushedCommit,
  toggleReply,
  type FailedJob,
} from './ci-autofix';
import type { CiJob, GithubCiPort } from './ci-port';
import type { GithubRepoPort, PullDetails } from './github-port';
import { pullNumberOf, runsOfPull } from './pull-outcome';
import { timeline } from './run-status-report';
import { threadKey, type WebhookTrigger } from './webhook-events';

/**
 * CI auto-fix, the webhook side (docs/github-app.md#ci-auto-fix): a `check_suite` or `workflow_run`
 * that completed with a failure on the head commit of an open, same-repository Nightshift pull request
 * starts one fix run on the pull request's thread and head branch, with the failing jobs' logs (read
 * with the CI token, cut to their ends, redacted, fenced as untrusted) in its prompt, for the requester
 * of the thread's latest run, within `github.autofix.maxAttempts`. Everything else is ignored, or
 * answered with one comment (a cap reached, a failure that predates Nightshift's changes).
 */
export interface CiFixDeps {
  config: NightshiftConfig;
  runs: RunRepository;
  threads: ThreadStorePort;
  events: Pick<RunEventLog, 'list'>;
  attempts: AutofixAttemptsPort;
  github: GithubRepoPort;
  /** A client that reads checks and Actions (a token with `checks: read`, `actions: read`). */
  ci(): Promise<GithubCiPort>;
  /** The intake's submission on a thread (its refusals answered in a comment, the status comment posted). */
  submitOnThread(number: number, input: SubmitInput & { thread: string }): Promise<CiFixOutcome>;
  warn(message: string, fields: Record<string, unknown>): void;
}

export type CiFixOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'refused'; reason: string; commented: boolean }
  | { action: 'submitted'; runId: string; thread: string; behind: string | null };

export type CiFailed = Extract<WebhookTrigger, { kind: 'ci_failed' }>;

/** How long the failing jobs' logs may take together (the webhook answers GitHub within 10 s). */
export const LOG_DEADLINE_MS = 3_000;

const ignored = (reason: string): CiFixOutcome => ({ action: 'ignored', reason });

/** The Nightshift runs on this pull request's head branch, newest first (review runs push nothing and do not count). */
async function branchRuns(deps: CiFixDeps, repo: string, pull: PullDetails): Promise<RunRecord[]> {
  const runs = await runsOfPull(deps, repo, { number: pull.number, headRef: pull.headRef });
  return runs.filter((r) => r.runKind !== 'review' && r.branch === pull.headRef).sort((a, b) => (a.runId < b.runId ? 1 : -1));
}

export async function handleCiFailure(deps: CiFixDeps, repo: string, trigger: CiFailed): Promise<CiFixOutcome> {
  // `github.autofix.enabled` is the default of each pull request, which `/nightshift autofix on|off` overrides (fixPullRequest).
  const appId = deps.config.github.appId;
  if (trigger.app && appId !== undefined && trigger.app.id === appId) return ignored("the check suite is Nightshift's own");
  if (trigger.headRepo !== null && trigger.headRepo.toLowerCase() !== repo.toLowerCase())
    return ignored(`the commit is on the fork ${trigger.headRepo}`);
  if (trigger.pullNumbers.length === 0) return ignored('no pull request of this repository has the commit as its head');

  for (const number of trigger.pullNumbers.slice(0, 5)) {
    const pull = await deps.github.pull(number);
    if (pull.state !== 'open' || pull.headSha !== trigger.headSha) continue;
    // GitHub leaves fork pull requests out of these events; the pull request read again is what decides.
    if (pull.headRepo === null || pull.headRepo.toLowerCase() !== repo.toLowerCase()) continue;
    const runs = await branchRuns(deps, repo, pull);
    if (
      runs.length === 0 ||
      !runs.some((r) => pullNumberOf(r.prUrl) === number || r.thread?.toLowerCase() === threadKey(repo, number).toLowerCase())
    )
      continue;
    return fixPullRequest(deps, repo, trigger, pull, runs);
  }
  return ignored(`the commit ${trigger.headSha.slice(0, 12)} is not the head of an open Nightshift pull request`);
}

async function fixPullRequest(
  deps: CiFixDeps,
  repo: string,
  trigger: CiFailed,
  pull: PullDetails,
  runs: RunRecord[],
): Promise<CiFixOutcome> {
  const settings = deps.config.github.autofix;
  const command = deps.config.github.commentCommand;
  const thread = threadKey(repo, pull.number);
  const state = await deps.attempts.get(thread);
  if (!(state.enabled ?? settings.enabled)) {
    return ignored(
      state.enabled === false
        ? `auto-fix is off on pull request #${pull.number} (${command} autofix off)`
        : 'CI auto-fix is off (github.autofix.enabled) and nobody turned it on for this pull request',
    );
  }
  if (state.suites[String(trigger.checkSuiteId)] !== undefined) return ignored(`check suite ${trigger.checkSuiteId} was handled already`);
  // A run of the pull request still working will push, and CI runs again on its commit.
  const active = runs.find((r) => !isTerminal(r.status));
  if (active) return ignored(`run ${active.runId} of the pull request is still active`);

  // A failure the branch had before Nightshift's first run on it is not one to "fix".
  const pusher = await findPusher(deps, runs, trigger.headSha);
  if (pusher) {
    const first = runs.at(-1)!;
    const firstEvents = first.runId === pusher.run.runId ? pusher.events : await timeline(deps.events, first.runId);
    const earlier = preexistingFailure(pusher.events, firstEvents);
    if (earlier) {
      const commented = await deps.attempts.claimNotice(thread, `preexisting:${trigger.headSha}`);
      if (commented) await deps.github.comment(pull.number, preexistingComment(trigger.headSha, earlier.failing, first.runId, command));
      return { action: 'refused', reason: 'the failing tests were failing before Nightshift changed the branch', commented };
    }
  }

  const jobs = await failedJobsOf(deps, trigger);
  if (jobs.length === 0) return ignored('no failed job other than Nightshift’s own check run');

  const claim = await deps.attempts.claim(thread, trigger.checkSuiteId, trigger.headSha, settings.maxAttempts);
  if (claim.kind === 'refused') {
    if (claim.refusal === 'duplicate') return ignored(`check suite ${trigger.checkSuiteId} was handled already`);
    const key = claim.refusal === 'pr_cap' ? 'pr_cap' : `commit_cap:${trigger.headSha}`;
    const commented = await deps.attempts.claimNotice(thread, key);
    if (commented) await deps.github.comment(pull.number, capComment(claim.refusal, trigger.headSha, settings.maxAttempts, command));
    return {
      action: 'refused',
      reason: `auto-fix reached github.autofix.maxAttempts.${claim.refusal === 'pr_cap' ? 'perPullRequest' : 'perCommit'}`,
      commented,
    };
  }

  const latest = runs[0]!;
  const prompt = fixPrompt({
    repo,
    number: pull.number,
    branch: pull.headRef,
    headSha: trigger.headSha,
    workflow: trigger.workflow,
    conclusion: trigger.conclusion,
    jobs,
    attempt: { commit: claim.commit, pullRequest: claim.pullRequest },
    caps: settings.maxAttempts,
    redactor: new Redactor(),
  });
  const issue = runs.map((r) => r.issue).find((n): n is number => n !== null && n !== undefined);
  try {
    // The thread's latest run's requester: the fix is done for them, under their budgets (and the thread's).
    return await deps.submitOnThread(pull.number, {
      request: { repo, prompt, branch: pull.headRef, labels: ['github', 'ci-fix'], ...(issue !== undefined ? { issue } : {}) },
      requester: latest.requester,
      source: 'github_ci',
      thread,
    });
  } catch (err) {
    // A fault of ours: the attempt is given back, so GitHub's redelivery of this event may try again.
    await deps.attempts.release(thread, trigger.checkSuiteId, trigger.headSha).catch(() => undefined);
    throw err;
  }
}

/** The run that pushed the head commit, with its timeline, if one of the branch's runs did. */
async function findPusher(deps: CiFixDeps, runs: readonly RunRecord[], sha: string) {
  for (const run of runs.slice(0, 10)) {
    const events = await timeline(deps.events, run.runId);
    if (pushedCommit(events, sha)) return { run, events };
  }
  return undefined;
}

/** The failed jobs of the workflow run (or the check suite's check runs) with the ends of their logs, read at once within a deadline. */
async function failedJobsOf(deps: CiFixDeps, trigger: CiFailed): Promise<FailedJob[]> {
  const ci = await deps.ci();
  const all: CiJob[] =
    trigger.workflowRunId !== null ? await ci.workflowJobs(trigger.workflowRunId) : await ci.suiteCheckRuns(trigger.checkSuiteId);
  const failed = failingJobs(all);
  const deadline = new Promise<null>((resolve) => setTimeout(() => resolve(null), LOG_DEADLINE_MS).unref());
  return Promise.all(
    failed.map(async (job) => {
      if (!job.hasLog) return { job, log: null };
      const read = ci.jobLogTail(job.id, LOG_TAIL_BYTES).catch((err: unknown) => {
        deps.warn('could not read a CI job log', {
          jobId: job.id,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
        return null;
      });
      return { job, log: await Promise.race([read, deadline]) };
    }),
  );
}

/** `/nightshift autofix on|off` on a pull request, by someone with write access: stored on the pull request's autofix item. */
export async function toggleAutofix(
  deps: { attempts: AutofixAttemptsPort; github: GithubRepoPort; config: NightshiftConfig },
  repo: string,
  number: number,
  state: 'on' | 'off',
): Promise<{ action: 'autofix'; state: 'on' | 'off'; thread: string }> {
  const thread = threadKey(repo, number);
  await deps.attempts.setEnabled(thread, state === 'on');
  await deps.github.comment(number, toggleReply(state, deps.config.github.commentCommand, deps.config.github.autofix));
  return { action: 'autofix', state, thread };
}
