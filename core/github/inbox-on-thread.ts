import * as z from 'zod';
import { BudgetRefusedError } from '../errors';
import { BudgetExtensionRefusedError } from '../errors';
import type { InboxItemView } from '../inbox/inbox-item';
import { INBOX_ATTRIBUTES, InboxEvent } from '../inbox/inbox-notification';
import { PauseReason } from '../inbox/pause-report';
import { InboxConflictError, InboxItemNotFoundError, InvalidResolutionError, type ResolveInput } from '../runs/answer';
import type { InboxStore } from '../store/inbox-store-port';
import { toInboxView } from '../store/inbox-store-port';
import type { RunRepository } from '../store/ports';
import { ThreadBudgetError } from '../errors';
import type { ThreadStorePort } from '../store/thread-store-port';
import { activeThreadRuns } from '../runs/threads';
import type { GithubRepoPort, ReactionTarget } from './github-port';
import { ambiguousReply, inboxItemComment, refusedReply, resolvedReply, resolveRequestOf, type InboxCommand } from './inbox-commands';
import { threadNumber } from './run-status-report';

/**
 * The inbox on a GitHub run's thread (docs/github-app.md#answering-on-github): the item is posted on
 * the issue or pull request when it is created (the inbox topic's delivery to the webhook function),
 * and a trusted `/nightshift answer|approve|reject` comment resolves it through the same code as
 * `POST /v1/inbox/{itemId}` (core/runs/answer.ts). Who may: decided by the caller (webhook-intake.ts:
 * write access asked of GitHub, never a bot) before anything here runs.
 */

export interface ThreadInboxDeps {
  runs: RunRepository;
  threads: ThreadStorePort;
  inbox: Pick<InboxStore, 'get'>;
  /** resolveInboxItem with its dependencies (core/runs/answer.ts). */
  resolveItem(input: ResolveInput): Promise<InboxItemView>;
  commentCommand: string;
}

export type ThreadInboxOutcome =
  | { action: 'resolved'; itemId: string; runId: string; thread: string }
  | { action: 'refused'; reason: string; commented: boolean; itemId?: string };

export interface ThreadInboxCommand {
  repo: string;
  thread: string;
  number: number;
  login: string;
  command: InboxCommand;
  /** The command comment, for the reaction (reviews take none). */
  reaction: ReactionTarget | undefined;
}

/** The open items the thread's waiting runs wait on (each waiting run waits on exactly one: its `resume.itemId`). */
async function waitingItems(deps: ThreadInboxDeps, thread: string): Promise<InboxItemView[]> {
  const items: InboxItemView[] = [];
  for (const run of await activeThreadRuns(deps, thread)) {
    if (run.status !== 'WAITING_FOR_HUMAN' || !run.resume) continue;
    const item = await deps.inbox.get(run.resume.itemId);
    if (item && item.state === 'open') items.push(toInboxView(item));
  }
  return items.sort((a, b) => (a.itemId < b.itemId ? 1 : -1));
}

/** The item a command names, if it belongs to a run of this thread (anything else is "not on this thread"). */
async function namedItem(deps: ThreadInboxDeps, thread: string, itemId: string): Promise<InboxItemView | undefined> {
  const item = await deps.inbox.get(itemId);
  if (!item) return undefined;
  const run = await deps.runs.get(item.runId);
  return run?.thread === thread ? toInboxView(item) : undefined;
}

/**
 * A trusted sender's inbox command on a thread. Without an item id it takes the one item the thread's
 * waiting run waits on; with several open (not possible while a thread has one active run, but the
 * store does not forbid it) it resolves none and asks for the id: an answer meant for one question
 * must not go to another. The resolver is the sender (`github:<login>`), acting with the write access
 * GitHub reported, as `/nightshift stop` does.
 */
export async function resolveFromThread(
  deps: ThreadInboxDeps,
  github: GithubRepoPort,
  input: ThreadInboxCommand,
): Promise<ThreadInboxOutcome> {
  const refuse = async (reason: string, itemId?: string): Promise<ThreadInboxOutcome> => {
    await github.comment(input.number, refusedReply(input.login, reason));
    if (input.reaction) await github.react(input.reaction, 'confused');
    return { action: 'refused', reason, commented: true, ...(itemId ? { itemId } : {}) };
  };
  let item: InboxItemView | undefined;
  if (input.command.itemId) {
    item = await namedItem(deps, input.thread, input.command.itemId);
    if (!item) return refuse(`no inbox item \`${input.command.itemId}\` belongs to a Nightshift run of this thread.`);
  } else {
    const open = await waitingItems(deps, input.thread);
    if (open.length === 0) return refuse('no Nightshift run of this thread waits for an answer or an approval.');
    if (open.length > 1) {
      const reason = `${open.length} items wait on this thread`;
      await github.comment(input.number, ambiguousReply(input.login, open, deps.commentCommand));
      if (input.reaction) await github.react(input.reaction, 'confused');
      return { action: 'refused', reason, commented: true };
    }
    item = open[0]!;
  }

  const request = resolveRequestOf(input.command, item);
  if ('refusal' in request) return refuse(request.refusal, item.itemId);
  const requester = `github:${input.login}`;
  let resolved: InboxItemView;
  try {
    resolved = await deps.resolveItem({
      itemId: item.itemId,
      access: { caller: { requester, groups: [] }, admin: true },
      request: request.request,
    });
  } catch (err) {
    if (
      err instanceof InvalidResolutionError ||
      err instanceof InboxConflictError ||
      err instanceof ThreadBudgetError ||
      err instanceof BudgetRefusedError ||
      err instanceof BudgetExtensionRefusedError
    )
      return refuse(err.message, item.itemId);
    if (err instanceof InboxItemNotFoundError) return refuse(`inbox item \`${item.itemId}\` is gone.`, item.itemId);
    throw err;
  }
  await github.comment(input.number, resolvedReply(input.login, resolved, input.command.action));
  if (input.reaction) await github.react(input.reaction, '+1');
  return { action: 'resolved', itemId: resolved.itemId, runId: resolved.runId, thread: input.thread };
}

/** The inbox topic's delivery to a Lambda subscription: SNS records with the item's id as a message attribute. */
const SnsRecords = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal('aws:sns'),
        Sns: z
          .object({ MessageAttributes: z.record(z.string(), z.object({ Type: z.string(), Value: z.string() })).default({}) })
          .passthrough(),
      }),
    )
    .min(1)
    .max(10),
});

export function isSnsDelivery(event: unknown): boolean {
  const records = typeof event === 'object' && event !== null ? (event as Record<string, unknown>).Records : undefined;
  return Array.isArray(records) && records.length > 0 && (records[0] as Record<string, unknown> | undefined)?.EventSource === 'aws:sns';
}

/** What one message of the inbox topic asks of the webhook function (core/inbox/inbox-notification.ts `InboxEvent`). */
export type TopicMessage = { event: 'item_created' | 'item_resolved'; itemId: string } | { event: 'queue_moved' };

/**
 * The messages an inbox topic delivery carries. A message without an `event` is a new item (as
 * published before events were named); one with an event this function does not know, or an item
 * event without an item id, is not ours and is skipped.
 */
export function topicMessagesOf(event: unknown): TopicMessage[] {
  const messages: TopicMessage[] = [];
  for (const record of SnsRecords.parse(event).Records) {
    const attributes = record.Sns.MessageAttributes;
    const kind = InboxEvent.safeParse(attributes[INBOX_ATTRIBUTES.event]?.Value ?? 'item_created');
    if (!kind.success) continue;
    if (kind.data === 'queue_moved') {
      messages.push({ event: 'queue_moved' });
      continue;
    }
    const itemId = attributes[INBOX_ATTRIBUTES.itemId]?.Value;
    if (itemId !== undefined) messages.push({ event: kind.data, itemId });
  }
  return messages;
}

export interface PostItemDeps {
  runs: RunRepository;
  inbox: Pick<InboxStore, 'get'>;
  /** The one-comment-per-item claim on the thread item (adapters/dynamodb/threads.ts `postedItems`). */
  threads: Pick<ThreadStorePort, 'claimItemPost' | 'releaseItemPost'>;
  github(repo: string): Promise<GithubRepoPort>;
  commentCommand: string;
}

export type PostItemOutcome =
  | { action: 'posted'; itemId: string; thread: string; commentId: number }
  | { action: 'skipped'; itemId: string; reason: string };

/**
 * Posts a new item on its run's thread, read from the store (the topic message carries no text).
 * Skipped when the item is already resolved (answered meanwhile: nothing to ask), when it is a
 * `pr_ready` or `failed` item (the run's status comment already tells how it ended), or when its run
 * has no thread. SNS delivers at least once, so the post is claimed first with a conditional write on
 * the thread item, keyed by the item id: a redelivery (or two deliveries at once) finds the claim and
 * posts nothing. A post that fails gives the claim back and throws, so the asynchronous invocation's
 * retry posts it; a function stopped between the claim and the post (a timeout) leaves the item
 * unposted on GitHub, still in the inbox and the e-mail (chosen over posting it twice).
 */
const isPauseReason = (type: string): boolean => PauseReason.safeParse(type).success;

export async function postInboxItem(deps: PostItemDeps, itemId: string): Promise<PostItemOutcome> {
  const item = await deps.inbox.get(itemId);
  if (!item) return { action: 'skipped', itemId, reason: 'unknown item' };
  if (item.state !== 'open') return { action: 'skipped', itemId, reason: 'already resolved' };
  if (!isPauseReason(item.type)) return { action: 'skipped', itemId, reason: `a ${item.type} item is told by the run's status comment` };
  const run = await deps.runs.get(item.runId);
  if (!run?.thread) return { action: 'skipped', itemId, reason: 'the run has no GitHub thread' };
  if (!(await deps.threads.claimItemPost(run.thread, itemId))) return { action: 'skipped', itemId, reason: 'already posted' };
  let id: number;
  try {
    const github = await deps.github(run.repo);
    ({ id } = await github.comment(threadNumber(run.thread), inboxItemComment(toInboxView(item), deps.commentCommand)));
  } catch (err) {
    await deps.threads.releaseItemPost(run.thread, itemId);
    throw err;
  }
  return { action: 'posted', itemId, thread: run.thread, commentId: id };
}
