import { repoSettings } from '../config/load';
import type { NightshiftConfig } from '../config/schema';
import { BudgetRefusedError, IntakePausedError } from '../errors';
import { microsToUsd } from '../pricing';
import { RunEndedError } from '../runs/cancel';
import { BranchCheckUnavailableError, BranchNotAllowedError, ReviewNotAllowedError } from '../errors';
import type { SubmitInput } from '../runs/submit';
import { queuePosition } from '../runs/admission';
import type { RunQueuePort } from '../store/run-queue-port';
import type { RunPriority } from '../runs/schemas';
import { activeThreadRuns, threadRuns } from '../runs/threads';
import { queuedComment } from './run-status';
import type { RunRepository } from '../store/ports';
import { ThreadBudgetError } from '../errors';
import type { ThreadStorePort } from '../store/thread-store-port';
import { pullNumberOf, recordPullOutcome, runIdOfBranch } from './pull-outcome';
import type { MetricsSink } from '../metrics/emf';
import {
  canTrigger,
  type GithubComment,
  type GithubRepoPort,
  type PullDetails,
  type ReactionTarget,
  type RepoPermission,
} from './github-port';
import { issuePrompt, iterationPrompt, reviewPrompt, type ThreadComment } from './thread-prompt';
import { markTrusted, pullDiscussion, type DiscussionSource } from './pull-discussion';
import { resolveFromThread, type ThreadInboxDeps } from './inbox-on-thread';
import type { InboxStore } from '../store/inbox-store-port';
import type { ResolveInput } from '../runs/answer';
import type { InboxItemView } from '../inbox/inbox-item';
import { isBot, parseCommand, threadKey, type PullRef, type Sender, type WebhookTrigger } from './webhook-events';
import type { AutofixAttemptsPort } from '../store/autofix-attempts-port';
import type { RunEventLog } from '../store/ports';
import type { GithubCiPort } from './ci-port';
import { parseAutofixToggle } from './ci-autofix';
import { handleCiFailure, toggleAutofix, type CiFixOutcome } from './ci-fix-intake';

/** A delivery whose event happened longer ago than this is stale: the dedup markers (7 days) may be gone. */
export const STALE_AFTER_MS = 6 * 86_400_000;
/** How long a permission GitHub reported is believed. */
export const PERMISSION_TTL_MS = 60_000;

/** GitHub's answers about permissions, kept briefly per instance (repo, login). */
export class PermissionCache {
  private readonly entries = new Map<string, { permission: RepoPermission; at: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  async get(repo: string, login: string, ask: () => Promise<RepoPermission>): Promise<RepoPermission> {
    const key = `${repo.toLowerCase()}\n${login.toLowerCase()}`;
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < PERMISSION_TTL_MS) return hit.permission;
    const permission = await ask();
    if (this.entries.size > 1_000) this.entries.clear();
    this.entries.set(key, { permission, at: this.now() });
    return permission;
  }
}

export interface WebhookIntakeDeps {
  config: NightshiftConfig;
  /** A client for one repository (its token from the webhook token broker). */
  github(repo: string): Promise<GithubRepoPort>;
  runs: RunRepository;
  /** The run queue: the position a new run's status comment shows. */
  queue: Pick<RunQueuePort, 'position'>;
  threads: ThreadStorePort;
  submit(input: SubmitInput): Promise<{ runId: string }>;
  cancel(runId: string, requester: string): Promise<void>;
  /** The inbox: `/nightshift answer|approve|reject` reads the item (core/github/inbox-on-thread.ts); `pull_request.closed` closes the `pr_ready` items of the pull request's runs. */
  inbox: Pick<InboxStore, 'get' | 'listByRun' | 'resolve'>;
  /** resolveInboxItem (core/runs/answer.ts) with its dependencies: the one resolution code of the API and the thread. */
  resolveItem(input: ResolveInput): Promise<InboxItemView>;
  permissions: PermissionCache;
  /** Where the pull request outcome metrics go (core/metrics/catalog.ts). */
  metrics?: MetricsSink;
  now?: () => Date;
  /** Where failures of the courtesy calls after a submission go (the run exists; the delivery must not be retried). */
  warn(message: string, fields: Record<string, unknown>): void;
  /** CI auto-fix (core/github/ci-fix-intake.ts): without it, CI events and `autofix on|off` do nothing. */
  autofix?: {
    attempts: AutofixAttemptsPort;
    events: Pick<RunEventLog, 'list'>;
    /** A client that also reads checks and Actions (the webhook broker's token asked with `ci: true`). */
    ci(repo: string): Promise<GithubCiPort>;
  };
}

/** After a run was submitted, a failed comment or reaction is logged, never thrown: a retry would submit it again. */
async function afterSubmit(ctx: TriggerContext, what: string, call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (err) {
    ctx.deps.warn(`could not ${what}`, { repo: ctx.repo, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}

export type IntakeOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'refused'; reason: string; commented: boolean }
  | { action: 'submitted'; runId: string; thread: string; behind: string | null }
  | { action: 'cancelled'; runIds: string[]; thread: string }
  | { action: 'resolved'; itemId: string; runId: string; thread: string }
  | { action: 'recorded'; state: 'merged' | 'closed'; runIds: string[] }
  | { action: 'autofix'; state: 'on' | 'off'; thread: string };

const requesterOf = (login: string) => `github:${login}`;

/** What Nightshift does with one verified, first-seen delivery. */
export async function handleTrigger(deps: WebhookIntakeDeps, trigger: WebhookTrigger): Promise<IntakeOutcome> {
  if (trigger.kind === 'ignore') return { action: 'ignored', reason: trigger.reason };
  const settings = repoSettings(deps.config, trigger.repo);
  if (!settings) return { action: 'ignored', reason: `${trigger.repo} is not in the repos allowlist` };
  const repo = settings.name;

  const now = deps.now?.() ?? new Date();
  const at = Date.parse(trigger.at);
  if (!(at > now.getTime() - STALE_AFTER_MS))
    return { action: 'ignored', reason: `the event is from ${trigger.at}, older than the delivery window` };
  // An outcome is recorded whoever closed the pull request (a merge bot included); it starts nothing.
  if (trigger.kind === 'pull_closed') return recordPullOutcome(deps, repo, trigger);
  // CI auto-fix: CI events are sent as the CI's bot (github-actions[bot]), so they come before the bot check.
  if (trigger.kind === 'ci_failed') return ciFailure(deps, repo, trigger, now);
  if (isBot(trigger.sender)) return { action: 'ignored', reason: `sender ${trigger.sender.login} is a bot` };

  const github = await deps.github(repo);
  const permissionOf = (login: string) => deps.permissions.get(repo, login, () => github.permissionOf(login));
  const thread = threadKey(repo, trigger.number);
  if (!canTrigger(await permissionOf(trigger.sender.login))) {
    // One polite comment per thread, not one per comment.
    const first = await deps.threads.claimNotice(thread);
    if (first)
      await github.comment(
        trigger.number,
        untrustedNotice(trigger.sender.login, deps.config, trigger.kind === 'command' && trigger.inbox !== null),
      );
    return { action: 'refused', reason: `${trigger.sender.login} has no write access to ${repo}`, commented: first };
  }

  const reaction: ReactionTarget | undefined =
    trigger.kind === 'issue_labeled' || trigger.kind === 'pull_labeled'
      ? { kind: 'issue', number: trigger.number }
      : trigger.source === 'issue_comment'
        ? { kind: 'issue_comment', id: trigger.commentId }
        : trigger.source === 'review_comment'
          ? { kind: 'review_comment', id: trigger.commentId }
          : undefined; // reviews take no reactions

  const ctx: TriggerContext = { deps, github, repo, permissionOf, sender: trigger.sender, now };
  const autofixToggle =
    trigger.kind === 'command' && trigger.onPullRequest && !trigger.review && !trigger.inbox
      ? parseAutofixToggle(trigger.instructions)
      : undefined;
  if (autofixToggle && deps.autofix && trigger.kind === 'command')
    return toggleAutofix({ attempts: deps.autofix.attempts, github, config: deps.config }, repo, trigger.number, autofixToggle);
  let outcome: IntakeOutcome;
  if (trigger.kind === 'issue_labeled') outcome = await startIssueRun(ctx, trigger.number, '', { priority: trigger.priority });
  else if (trigger.kind === 'pull_labeled') outcome = await startReview(ctx, trigger.number, pullOf(trigger.pull), '');
  else if (trigger.inbox) {
    const inboxDeps: ThreadInboxDeps = {
      runs: deps.runs,
      threads: deps.threads,
      inbox: deps.inbox,
      resolveItem: deps.resolveItem,
      commentCommand: deps.config.github.commentCommand,
    };
    return resolveFromThread(inboxDeps, github, {
      repo,
      thread,
      number: trigger.number,
      login: trigger.sender.login,
      command: trigger.inbox,
      reaction,
    });
  } else if (trigger.review) {
    outcome = trigger.onPullRequest
      ? await startReview(ctx, trigger.number, trigger.pull === null ? null : pullOf(trigger.pull), trigger.instructions)
      : await refuse(
          ctx,
          trigger.number,
          'a review was asked on an issue',
          `Nightshift reviews pull requests: comment \`${deps.config.github.commentCommand} review\` on one.`,
        );
  } else if (trigger.stop) outcome = await stopThread(ctx, trigger.number, trigger.onPullRequest);
  else if (trigger.onPullRequest)
    outcome = await startIteration(
      ctx,
      trigger.number,
      trigger.pull === null ? null : pullOf(trigger.pull),
      trigger.instructions,
      trigger.commentId,
      trigger.plan,
    );
  else {
    // On an issue: iterate on the issue's Nightshift pull request if it has an open one, else start on the issue.
    const pull = await openPullOfThread(ctx, thread);
    outcome = pull
      ? await startIteration(ctx, pull.number, pull, trigger.instructions, trigger.commentId, trigger.plan)
      : await startIssueRun(ctx, trigger.number, trigger.instructions, { plan: trigger.plan });
  }
  if (outcome.action === 'submitted' && reaction) await afterSubmit(ctx, 'add the 👀 reaction', () => github.react(reaction, 'eyes'));
  return outcome;
}

interface TriggerContext {
  deps: WebhookIntakeDeps;
  github: GithubRepoPort;
  repo: string;
  sender: Sender;
  now: Date;
  permissionOf(login: string): Promise<RepoPermission>;
}

function pullOf(pull: PullRef): PullDetails {
  return {
    number: pull.number,
    state: pull.state,
    headRef: pull.head.ref,
    headRepo: pull.head.repo?.full_name ?? null,
    baseRepo: pull.base.repo.full_name,
    htmlUrl: pull.html_url,
    headSha: pull.head.sha ?? null,
  };
}

/** A comment that is itself a command: its text was the instructions of a run, not review context. */
function isCommand(ctx: TriggerContext, c: GithubComment): boolean {
  return parseCommand(c.body, ctx.deps.config.github.commentCommand) !== undefined;
}

/** The pull request's discussion reads, with the permission lookups this delivery caches. */
function discussionSource(ctx: TriggerContext): DiscussionSource {
  return {
    permissionOf: ctx.permissionOf,
    issueComments: (n) => ctx.github.issueComments(n),
    reviews: (n) => ctx.github.reviews(n),
    reviewComments: (n) => ctx.github.reviewComments(n),
  };
}

/** `plan`: `/nightshift plan ...` (core/github/plan-command.ts): the run proposes a plan that waits for approval on the thread. */
const planOf = (plan: boolean) => (plan ? { plan: true } : {});

async function startIssueRun(
  ctx: TriggerContext,
  number: number,
  instructions: string,
  options: { plan?: boolean; priority?: RunPriority } = {},
): Promise<IntakeOutcome> {
  const issue = await ctx.github.issue(number);
  const comments = await markTrusted(
    (await ctx.github.issueComments(number)).filter((c) => !isCommand(ctx, c)),
    ctx.permissionOf,
  );
  // The command's own text comes last, as the instructions of this run.
  const extra: ThreadComment[] = instructions
    ? [{ author: ctx.sender.login, body: instructions, createdAt: ctx.now.toISOString(), trusted: true }]
    : [];
  const prompt = issuePrompt({
    repo: ctx.repo,
    number,
    title: issue.title,
    body: issue.body,
    author: issue.user.login,
    comments: [...comments, ...extra],
  });
  return submitOnThread(ctx, number, {
    request: {
      repo: ctx.repo,
      prompt,
      issue: number,
      labels: ['github'],
      ...planOf(options.plan ?? false),
      ...(options.priority ? { priority: options.priority } : {}),
    },
    requester: requesterOf(ctx.sender.login),
    source: 'github_issue',
    thread: threadKey(ctx.repo, number),
  });
}

/** What Nightshift does with a pull request, as a refusal says it, and what it then did not start. */
interface PullWork {
  onOpen: string;
  onSameRepo: string;
  start: string;
}
const ITERATION_WORK: PullWork = {
  onOpen: 'works only on open pull requests',
  onSameRepo: 'adds commits only to pull requests',
  start: 'a run',
};
const REVIEW_WORK: PullWork = { onOpen: 'reviews only open pull requests', onSameRepo: 'reviews only pull requests', start: 'a review' };

/** The pull request, when a run may work on it: open, and its branch in this repository (a fork's code is never run). */
async function workablePull(
  ctx: TriggerContext,
  number: number,
  known: PullDetails | null,
  work: PullWork,
): Promise<{ pull: PullDetails } | { refused: IntakeOutcome }> {
  const pull = known ?? (await ctx.github.pull(number));
  if (pull.state !== 'open') {
    const comment = `Nightshift ${work.onOpen}; #${number} is closed, so this did not start ${work.start}.`;
    return { refused: await refuse(ctx, number, `pull request #${number} is closed`, comment) };
  }
  if (pull.headRepo === null || pull.headRepo.toLowerCase() !== ctx.repo.toLowerCase()) {
    const comment = `Nightshift ${work.onSameRepo} whose branch is in ${ctx.repo}; this one comes from the fork ${pull.headRepo ?? '(deleted)'}, so it did not start ${work.start}.`;
    return { refused: await refuse(ctx, number, 'the pull request comes from a fork', comment) };
  }
  return { pull };
}

async function startIteration(
  ctx: TriggerContext,
  number: number,
  known: PullDetails | null,
  instructions: string,
  commandId: number,
  plan = false,
): Promise<IntakeOutcome> {
  const workable = await workablePull(ctx, number, known, ITERATION_WORK);
  if ('refused' in workable) return workable.refused;
  const { pull } = workable;
  const thread = threadKey(ctx.repo, number);
  const since = (await ctx.deps.threads.get(thread))?.lastRunAt ?? null;
  const comments = await pullDiscussion(discussionSource(ctx), number, {
    commentCommand: ctx.deps.config.github.commentCommand,
    since,
    excludeId: commandId,
  });
  const prompt = iterationPrompt({ repo: ctx.repo, number, branch: pull.headRef, requestedBy: ctx.sender.login, instructions, comments });
  // The issue the pull request was opened for, so the rewritten PR body still links it (Fixes/Refs #N).
  const issue = await issueOfPull(ctx, pull);
  return submitOnThread(ctx, number, {
    request: { repo: ctx.repo, prompt, branch: pull.headRef, labels: ['github'], ...(issue ? { issue } : {}), ...planOf(plan) },
    requester: requesterOf(ctx.sender.login),
    source: 'github_comment',
    thread,
  });
}

/**
 * A review run of a pull request (`kind: review`): same repository only (a fork's code is never run),
 * open only; its prompt is what the person asked the review to look at.
 */
async function startReview(ctx: TriggerContext, number: number, known: PullDetails | null, instructions: string): Promise<IntakeOutcome> {
  const workable = await workablePull(ctx, number, known, REVIEW_WORK);
  if ('refused' in workable) return workable.refused;
  // The discussion is read by the review run itself when it starts (runner/session/review-run.ts), as for a review asked through the API.
  const prompt = reviewPrompt({ repo: ctx.repo, number, requestedBy: ctx.sender.login, instructions });
  const thread = threadKey(ctx.repo, number);
  return submitOnThread(ctx, number, {
    request: { repo: ctx.repo, prompt, kind: 'review', pr: number, labels: ['github', 'review'] },
    requester: requesterOf(ctx.sender.login),
    source: 'github_comment',
    thread,
  });
}

/** The issue of the run that opened this pull request from its run branch, if a run did. */
async function issueOfPull(ctx: TriggerContext, pull: PullDetails): Promise<number | undefined> {
  const opener = runIdOfBranch(pull.headRef);
  const run = opener ? await ctx.deps.runs.get(opener) : undefined;
  return run && run.repo.toLowerCase() === ctx.repo.toLowerCase() && pullNumberOf(run.prUrl) === pull.number
    ? (run.issue ?? undefined)
    : undefined;
}

async function submitOnThread(ctx: TriggerContext, number: number, input: SubmitInput & { thread: string }): Promise<IntakeOutcome> {
  const ahead = await activeThreadRuns(ctx.deps, input.thread);
  let runId: string;
  try {
    ({ runId } = await ctx.deps.submit(input));
  } catch (err) {
    if (err instanceof ThreadBudgetError) {
      const cap = ctx.deps.config.budgets.perThreadUsd;
      return refuse(
        ctx,
        number,
        err.message,
        `This thread's runs have committed $${microsToUsd(err.committedMicros).toFixed(2)} of the $${cap.toFixed(2)} a thread may use (budgets.perThreadUsd), so Nightshift did not start another run.`,
      );
    }
    if (err instanceof BudgetRefusedError)
      return refuse(ctx, number, err.message, `Nightshift did not start a run: ${err.message} today. It can be asked again tomorrow.`);
    if (err instanceof IntakePausedError)
      return refuse(
        ctx,
        number,
        err.message,
        'Nightshift did not start a run: intake is paused by the spend circuit breaker. Ask again once an operator resumes it.',
      );
    if (err instanceof BranchNotAllowedError)
      return refuse(
        ctx,
        number,
        err.message,
        `Nightshift did not start a run: it never pushes to this pull request's branch (${err.refusal}).`,
      );
    if (err instanceof ReviewNotAllowedError) return refuse(ctx, number, err.message, `Nightshift did not start a review: ${err.refusal}.`);
    if (err instanceof BranchCheckUnavailableError)
      return refuse(
        ctx,
        number,
        err.message,
        'Nightshift did not start a run: GitHub could not be asked about the branch. Ask again in a minute.',
      );
    throw err;
  }
  const behind = ahead.at(-1)?.runId ?? null;
  // The run's one status comment (core/github/run-status.ts): the runner and the run's end edit it in place.
  await afterSubmit(ctx, 'post the status comment', async () => {
    const run = await ctx.deps.runs.get(runId);
    if (!run) return;
    const position = await queuePosition(ctx.deps.queue, run);
    const { id } = await ctx.github.comment(number, queuedComment({ runId, behind, position, budgetMicros: run.budgetMicros }));
    // The place it shows, kept true as the queue moves (core/github/queue-comments.ts); a run behind its thread shows none.
    await ctx.deps.runs.patch(runId, { statusCommentId: id, statusCommentPosition: behind ? null : position }, { allowTerminal: true });
  });
  return { action: 'submitted', runId, thread: input.thread, behind };
}

async function refuse(ctx: TriggerContext, number: number, reason: string, comment: string): Promise<IntakeOutcome> {
  await ctx.github.comment(number, comment);
  return { action: 'refused', reason, commented: true };
}

async function stopThread(ctx: TriggerContext, number: number, onPullRequest: boolean): Promise<IntakeOutcome> {
  const thread = threadKey(ctx.repo, number);
  const active = await activeThreadRuns(ctx.deps, thread);
  const cancelled: string[] = [];
  for (const run of active) {
    try {
      await ctx.deps.cancel(run.runId, requesterOf(ctx.sender.login));
      cancelled.push(run.runId);
    } catch (err) {
      if (!(err instanceof RunEndedError)) throw err;
    }
  }
  const what = onPullRequest ? 'pull request' : 'issue';
  await ctx.github.comment(
    number,
    cancelled.length > 0
      ? `Nightshift cancelled ${cancelled.map((id) => `\`${id}\``).join(', ')} at @${ctx.sender.login}'s request.`
      : `Nightshift has no active run on this ${what}.`,
  );
  return { action: 'cancelled', runIds: cancelled, thread };
}

/** The open pull request a run of this (issue) thread opened, if any. */
async function openPullOfThread(ctx: TriggerContext, thread: string): Promise<PullDetails | undefined> {
  for (const run of await threadRuns(ctx.deps, thread)) {
    const number = pullNumberOf(run.prUrl);
    if (number === undefined) continue;
    const pull = await ctx.github.pull(number);
    if (pull.state === 'open') return pull;
  }
  return undefined;
}

function untrustedNotice(login: string, config: NightshiftConfig, inboxCommand: boolean): string {
  if (inboxCommand) {
    return (
      `Thanks, @${login}. Nightshift takes answers and approvals on GitHub only from people with write access to this repository, so this changed nothing. ` +
      '(Nightshift says this once per issue or pull request.)'
    );
  }
  return (
    `Thanks, @${login}. Nightshift starts runs only for people with write access to this repository, so this did not start one. ` +
    `A maintainer can add the \`${config.github.triggerLabel}\` label to an issue, or comment \`${config.github.commentCommand} <instructions>\` on a pull request. ` +
    '(Nightshift says this once per issue or pull request.)'
  );
}

/**
 * CI auto-fix (docs/github-app.md#ci-auto-fix): a failed check suite or workflow run on the head of a
 * Nightshift pull request. Decided in core/github/ci-fix-intake.ts; a fix run goes through the same
 * thread submission as an iteration, so its refusals, status comment and check run are the same.
 */
async function ciFailure(
  deps: WebhookIntakeDeps,
  repo: string,
  trigger: Extract<WebhookTrigger, { kind: 'ci_failed' }>,
  now: Date,
): Promise<CiFixOutcome> {
  const autofix = deps.autofix;
  if (!autofix) return { action: 'ignored', reason: 'CI auto-fix is not wired in this deployment' };
  const github = await deps.github(repo);
  const ctx: TriggerContext = {
    deps,
    github,
    repo,
    sender: trigger.sender,
    now,
    permissionOf: (login) => deps.permissions.get(repo, login, () => github.permissionOf(login)),
  };
  return handleCiFailure(
    {
      config: deps.config,
      runs: deps.runs,
      threads: deps.threads,
      events: autofix.events,
      attempts: autofix.attempts,
      github,
      ci: () => autofix.ci(repo),
      submitOnThread: async (number, input) => {
        const outcome = await submitOnThread(ctx, number, input);
        if (outcome.action === 'submitted' || outcome.action === 'refused') return outcome;
        throw new Error(`unexpected submission outcome ${outcome.action}`);
      },
      warn: deps.warn,
    },
    repo,
    trigger,
  );
}
