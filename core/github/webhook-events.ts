import * as z from 'zod';
import { parseInboxCommand, type InboxCommand } from './inbox-commands';
import { parsePlanCommand } from './plan-command';
import { priorityOfLabels } from './priority-label';
import type { RunPriority } from '../runs/schemas';

/**
 * The part of GitHub's webhook payloads Nightshift reads (payloads carry far more; unknown fields are
 * kept out by reading only these). Parsed only after the signature verified.
 */
const Login = z.string().min(1).max(100);
export const Sender = z.object({ login: Login, type: z.string().max(50) });
export type Sender = z.infer<typeof Sender>;
const Repository = z.object({ full_name: z.string().min(3).max(200) });
const Timestamp = z.string().min(1).max(40);
const Text = z.string().max(262_144);

const IssueRef = z.object({
  number: z.number().int().positive(),
  title: Text,
  body: Text.nullable().optional(),
  updated_at: Timestamp,
  user: Sender,
  pull_request: z.object({}).passthrough().optional(),
});

const PullRef = z.object({
  number: z.number().int().positive(),
  state: z.enum(['open', 'closed']),
  html_url: z.string().max(2_000),
  updated_at: Timestamp,
  user: Sender,
  head: z.object({ ref: z.string().min(1).max(255), sha: z.string().max(64).optional(), repo: Repository.nullable() }),
  base: z.object({ ref: z.string().min(1).max(255), repo: Repository }),
});
export type PullRef = z.infer<typeof PullRef>;

export const IssuesLabeled = z.object({
  action: z.literal('labeled'),
  label: z.object({ name: z.string().max(100) }),
  // The issue's labels after this one was added: a priority label beside the trigger label (core/github/priority-label.ts).
  issue: IssueRef.extend({
    labels: z
      .array(z.object({ name: z.string().max(100) }))
      .max(100)
      .optional(),
  }),
  repository: Repository,
  sender: Sender,
});
export const IssueCommentCreated = z.object({
  action: z.literal('created'),
  issue: IssueRef,
  comment: z.object({ id: z.number().int().positive(), body: Text, created_at: Timestamp, user: Sender }),
  repository: Repository,
  sender: Sender,
});
export const PullRequestReviewSubmitted = z.object({
  action: z.literal('submitted'),
  review: z.object({ id: z.number().int().positive(), body: Text.nullable(), submitted_at: Timestamp, user: Sender }),
  pull_request: PullRef,
  repository: Repository,
  sender: Sender,
});
export const PullRequestReviewCommentCreated = z.object({
  action: z.literal('created'),
  comment: z.object({
    id: z.number().int().positive(),
    body: Text,
    created_at: Timestamp,
    user: Sender,
    path: z.string().max(4_096),
    line: z.number().int().nullable().optional(),
  }),
  pull_request: PullRef,
  repository: Repository,
  sender: Sender,
});

/** A label added to a pull request: GitHub sends it as `pull_request.labeled` (never as an `issues` event). */
export const PullRequestLabeled = z.object({
  action: z.literal('labeled'),
  label: z.object({ name: z.string().max(100) }),
  pull_request: PullRef,
  repository: Repository,
  sender: Sender,
});

export const PullRequestClosed = z.object({
  action: z.literal('closed'),
  pull_request: z.object({
    number: z.number().int().positive(),
    merged: z.boolean().nullable().optional(),
    merged_at: Timestamp.nullable().optional(),
    closed_at: Timestamp.nullable(),
    created_at: Timestamp,
    head: z.object({ ref: z.string().min(1).max(255) }),
  }),
  repository: Repository,
  sender: Sender,
});

/**
 * CI on a commit (CI auto-fix, core/github/ci-autofix.ts). GitHub Actions tells of one workflow's run
 * twice, as its check suite and as its workflow run; both carry the check suite id, which is what an
 * attempt is counted by. `pull_requests` lists the same-repository pull requests whose head is the
 * commit (never a fork's: GitHub leaves those out), only as a hint: the pull request is read again.
 */
const CiPullRef = z.object({
  number: z.number().int().positive(),
  head: z.object({ ref: z.string().min(1).max(255), sha: z.string().max(64) }),
});
/** What a completed check suite and a completed workflow run both tell of the CI on a commit. */
const CiCompleted = z.object({
  head_branch: z.string().max(255).nullable(),
  head_sha: z.string().regex(/^[0-9a-f]{40}$/),
  status: z.string().max(40).nullable(),
  conclusion: z.string().max(40).nullable(),
  updated_at: Timestamp,
  pull_requests: z.array(CiPullRef).max(100),
});
type CiCompleted = z.infer<typeof CiCompleted>;
export const CheckSuiteCompleted = z.object({
  action: z.literal('completed'),
  check_suite: CiCompleted.extend({
    id: z.number().int().positive(),
    app: z
      .object({ id: z.number().int(), slug: z.string().max(100).optional() })
      .nullable()
      .optional(),
  }),
  repository: Repository,
  sender: Sender,
});
export const WorkflowRunCompleted = z.object({
  action: z.literal('completed'),
  workflow_run: CiCompleted.extend({
    id: z.number().int().positive(),
    name: z.string().max(1_000).nullable().optional(),
    check_suite_id: z.number().int().positive(),
    head_repository: Repository.nullable().optional(),
  }),
  repository: Repository,
  sender: Sender,
});
/** CI conclusions that ask for a fix (`cancelled`, `skipped`, `neutral`, `action_required`, `stale` do not). */
const FAILED_CONCLUSIONS = new Set(['failure', 'timed_out']);

/**
 * The webhook events Nightshift acts on: what the GitHub App subscribes to (infra/github-app-manifest.json;
 * a test holds the two together). `ping` is sent to every App and needs no subscription.
 */
export const HANDLED_EVENTS = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'check_suite',
  'workflow_run',
] as const;

/** Where a `/nightshift` command was written. */
export type CommandSource = 'issue_comment' | 'review' | 'review_comment';

export type WebhookTrigger =
  | { kind: 'ignore'; reason: string }
  | { kind: 'issue_labeled'; repo: string; number: number; sender: Sender; at: string; priority?: RunPriority }
  /** The review label (`github.reviewLabel`) added to a pull request: a review run of it. */
  | { kind: 'pull_labeled'; repo: string; number: number; pull: PullRef; sender: Sender; at: string }
  | {
      kind: 'command';
      repo: string;
      number: number;
      /** True when the thread is a pull request. */
      onPullRequest: boolean;
      /** The pull request when the payload carries it (review events); issue comments on a PR do not. */
      pull: PullRef | null;
      sender: Sender;
      /** The text after the command, trimmed (may be empty). */
      instructions: string;
      stop: boolean;
      /** `/nightshift answer|approve|reject ...`: resolves the thread's inbox item instead of starting a run. */
      inbox: InboxCommand | null;
      /** `/nightshift review [instructions]`: a review run of the pull request (`instructions` is what follows `review`). */
      review: boolean;
      /** `/nightshift plan [instructions]`: the run submits with `plan: true` (`instructions` is what follows `plan`). */
      plan: boolean;
      source: CommandSource;
      commentId: number;
      at: string;
    }
  | {
      /** A pull request was closed, merged or not: the outcome of a Nightshift PR (`at` is when it closed). */
      kind: 'pull_closed';
      repo: string;
      number: number;
      merged: boolean;
      headRef: string;
      openedAt: string;
      sender: Sender;
      at: string;
    }
  | {
      /** CI failed on a commit (`check_suite` or `workflow_run` completed with a failure): perhaps an auto-fix run. */
      kind: 'ci_failed';
      repo: string;
      headSha: string;
      headBranch: string | null;
      /** The check suite: what an attempt is counted by (one per workflow run of GitHub Actions). */
      checkSuiteId: number;
      /** The workflow run, when the event was one (its jobs and logs are read through it). */
      workflowRunId: number | null;
      /** The workflow's name, when the event tells. */
      workflow: string | null;
      /** The app whose check suite it is (`github-actions` for Actions), when the event tells. */
      app: { id: number; slug: string | null } | null;
      /** The head repository, when the event tells (`workflow_run`): a fork's is never fixed. */
      headRepo: string | null;
      /** Pull request numbers the event names for the commit (a hint: each is read again). */
      pullNumbers: number[];
      conclusion: string;
      sender: Sender;
      at: string;
    };

export interface TriggerSettings {
  triggerLabel: string;
  commentCommand: string;
  /** The label that starts a review run on a pull request (config `github.reviewLabel`); none: labels on PRs start nothing. */
  reviewLabel?: string;
}

/**
 * The command in a comment body: it must start the body (after leading white space) and be followed
 * by white space or the end. `undefined` when the body is not a command.
 */
export function parseCommand(
  body: string | null | undefined,
  command: string,
): { instructions: string; stop: boolean; review: boolean; plan: boolean; inbox: InboxCommand | null } | undefined {
  if (!body) return undefined;
  const text = body.trimStart();
  if (!text.toLowerCase().startsWith(command.toLowerCase())) return undefined;
  const rest = text.slice(command.length);
  if (rest.length > 0 && !/^\s/.test(rest)) return undefined;
  const instructions = rest.trim();
  const review = /^review(?:\s|$)/i.exec(instructions);
  if (review) return { instructions: instructions.slice(review[0].length).trim(), stop: false, review: true, plan: false, inbox: null };
  const plan = parsePlanCommand(instructions);
  if (plan) return { instructions: plan.instructions, stop: false, review: false, plan: true, inbox: null };
  return {
    instructions,
    stop: /^stop\.?$/i.test(instructions),
    review: false,
    plan: false,
    inbox: parseInboxCommand(instructions) ?? null,
  };
}

const ignore = (reason: string): WebhookTrigger => ({ kind: 'ignore', reason });

/** The thread a command was written on, and by whom. */
interface CommandThread {
  repo: string;
  number: number;
  onPullRequest: boolean;
  pull: PullRef | null;
  sender: Sender;
}

/** The comment, review or review comment that may hold a command. */
interface CommandWriting {
  source: CommandSource;
  id: number;
  body: string | null;
  at: string;
}

/** A review or review comment is written on a pull request the payload carries. */
function pullThread(p: { repository: { full_name: string }; pull_request: PullRef; sender: Sender }): CommandThread {
  return { repo: p.repository.full_name, number: p.pull_request.number, onPullRequest: true, pull: p.pull_request, sender: p.sender };
}

/** The `command` trigger of a writing whose body is a command; `ignore` when it is not one. */
function commandTrigger(thread: CommandThread, writing: CommandWriting, commentCommand: string): WebhookTrigger {
  const command = parseCommand(writing.body, commentCommand);
  if (!command) return ignore('not a command');
  return { kind: 'command', ...thread, ...command, source: writing.source, commentId: writing.id, at: writing.at };
}

type CiFailedTrigger = Extract<WebhookTrigger, { kind: 'ci_failed' }>;

/**
 * `ci_failed` when a completed check suite or workflow run (`what`) concluded in failure; `tells` is what
 * only one of the two events knows (null in the other).
 */
function ciTrigger(
  p: { repository: { full_name: string }; sender: Sender },
  what: string,
  completed: CiCompleted,
  tells: Pick<CiFailedTrigger, 'checkSuiteId' | 'workflowRunId' | 'workflow' | 'app' | 'headRepo'>,
): WebhookTrigger {
  const { conclusion } = completed;
  if (!conclusion || !FAILED_CONCLUSIONS.has(conclusion)) return ignore(`the ${what} concluded ${conclusion ?? 'nothing'}`);
  return {
    kind: 'ci_failed',
    repo: p.repository.full_name,
    headSha: completed.head_sha,
    headBranch: completed.head_branch,
    ...tells,
    pullNumbers: completed.pull_requests.filter((pr) => pr.head.sha === completed.head_sha).map((pr) => pr.number),
    conclusion,
    sender: p.sender,
    at: completed.updated_at,
  };
}

/** What one verified delivery asks of Nightshift (pure: no I/O). */
export function classifyDelivery(event: string, payload: unknown, settings: TriggerSettings): WebhookTrigger {
  const action = z
    .object({ action: z.string().max(100).optional() })
    .passthrough()
    .safeParse(payload);
  if (!action.success) return ignore('payload is not an object');
  const act = action.data.action;
  switch (event) {
    case 'ping':
      return ignore('ping');
    case 'issues': {
      if (act !== 'labeled') return ignore(`issues.${act ?? '?'}`);
      const p = IssuesLabeled.parse(payload);
      const label = p.label.name.toLowerCase();
      // A pull request's labels arrive as pull_request.labeled; an issues event about one is not GitHub's and starts nothing.
      if (p.issue.pull_request) return ignore('a label on a pull request is read from pull_request.labeled');
      if (label !== settings.triggerLabel.toLowerCase()) return ignore(`label ${p.label.name} is not the trigger label`);
      const priority = priorityOfLabels(
        (p.issue.labels ?? []).map((l) => l.name),
        settings.triggerLabel,
      );
      return {
        kind: 'issue_labeled',
        repo: p.repository.full_name,
        number: p.issue.number,
        sender: p.sender,
        at: p.issue.updated_at,
        ...(priority ? { priority } : {}),
      };
    }
    case 'issue_comment': {
      if (act !== 'created') return ignore(`issue_comment.${act ?? '?'}`);
      const p = IssueCommentCreated.parse(payload);
      const onPullRequest = p.issue.pull_request !== undefined;
      const thread = { repo: p.repository.full_name, number: p.issue.number, onPullRequest, pull: null, sender: p.sender };
      const writing = { source: 'issue_comment', id: p.comment.id, body: p.comment.body, at: p.comment.created_at } as const;
      return commandTrigger(thread, writing, settings.commentCommand);
    }
    case 'pull_request_review': {
      if (act !== 'submitted') return ignore(`pull_request_review.${act ?? '?'}`);
      const p = PullRequestReviewSubmitted.parse(payload);
      const writing = { source: 'review', id: p.review.id, body: p.review.body, at: p.review.submitted_at } as const;
      return commandTrigger(pullThread(p), writing, settings.commentCommand);
    }
    case 'pull_request_review_comment': {
      if (act !== 'created') return ignore(`pull_request_review_comment.${act ?? '?'}`);
      const p = PullRequestReviewCommentCreated.parse(payload);
      const writing = { source: 'review_comment', id: p.comment.id, body: p.comment.body, at: p.comment.created_at } as const;
      return commandTrigger(pullThread(p), writing, settings.commentCommand);
    }
    case 'pull_request': {
      if (act === 'labeled') {
        const p = PullRequestLabeled.parse(payload);
        if (settings.reviewLabel === undefined || p.label.name.toLowerCase() !== settings.reviewLabel.toLowerCase()) {
          return ignore(`label ${p.label.name} on a pull request is not the review label`);
        }
        return {
          kind: 'pull_labeled',
          repo: p.repository.full_name,
          number: p.pull_request.number,
          pull: p.pull_request,
          sender: p.sender,
          at: p.pull_request.updated_at,
        };
      }
      if (act !== 'closed') return ignore(`pull_request.${act ?? '?'}`);
      const p = PullRequestClosed.parse(payload);
      const pr = p.pull_request;
      const merged = pr.merged === true && typeof pr.merged_at === 'string';
      const at = merged ? pr.merged_at! : pr.closed_at;
      if (!at) return ignore('the closed pull request has no closed_at');
      return {
        kind: 'pull_closed',
        repo: p.repository.full_name,
        number: pr.number,
        merged,
        headRef: pr.head.ref,
        openedAt: pr.created_at,
        sender: p.sender,
        at,
      };
    }
    case 'check_suite': {
      if (act !== 'completed') return ignore(`check_suite.${act ?? '?'}`);
      const p = CheckSuiteCompleted.parse(payload);
      const suite = p.check_suite;
      const app = suite.app ? { id: suite.app.id, slug: suite.app.slug ?? null } : null;
      return ciTrigger(p, 'check suite', suite, { checkSuiteId: suite.id, workflowRunId: null, workflow: null, app, headRepo: null });
    }
    case 'workflow_run': {
      if (act !== 'completed') return ignore(`workflow_run.${act ?? '?'}`);
      const p = WorkflowRunCompleted.parse(payload);
      const run = p.workflow_run;
      return ciTrigger(p, 'workflow run', run, {
        checkSuiteId: run.check_suite_id,
        workflowRunId: run.id,
        workflow: run.name ?? null,
        app: null,
        headRepo: run.head_repository?.full_name ?? null,
      });
    }
    default:
      return ignore(`event ${event.slice(0, 50)} is not handled`);
  }
}

/** Bots never trigger runs: GitHub Apps (ours included, so a comment of ours cannot loop) and machine users named `x[bot]`. */
export function isBot(sender: Sender): boolean {
  return sender.type === 'Bot' || /\[bot\]$/i.test(sender.login);
}

/** `owner/name#N`: the thread of an issue or pull request (`repo` as the allowlist spells it). */
export function threadKey(repo: string, number: number): string {
  return `${repo}#${number}`;
}
