import * as z from 'zod';
import { RepoName } from '../config/schema';
import { RunId } from '../runs/schemas';
import type { RunEventLog, RunRecord } from '../store/ports';
import type { StoredInboxItem } from '../store/inbox-store-port';
import { actionsFor, InboxItemId, InboxItemType, type InboxAction } from './inbox-item';

/**
 * What Nightshift says when an inbox item is created (docs/inbox.md#notifications): one short message on
 * the inbox topic (SNS on AWS: the configured e-mails, and the GitHub webhook function for runs of a
 * GitHub thread; local mode: the outbox file). It names the item and how to resolve it, and carries
 * none of the item's free text: the question, the plan or the failure are agent-written and may quote
 * code or output, and an e-mail leaves the account. They are read with `nightshift inbox`, the console
 * or, for a GitHub thread, the comment the webhook function posts from the store.
 */
export const InboxNotification = z
  .object({
    itemId: InboxItemId,
    type: InboxItemType,
    runId: RunId,
    repo: RepoName,
    requester: z.string().min(1).max(400),
    /** `owner/name#N` when the run came from GitHub: the question is posted there too. */
    thread: z.string().min(3).max(220).nullable(),
  })
  .strict();
export type InboxNotification = z.infer<typeof InboxNotification>;

/** Message attributes of an inbox notification: what the topic's subscribers filter on and read. */
export const INBOX_ATTRIBUTES = { event: 'event', itemId: 'itemId', type: 'type', thread: 'thread' } as const;

/**
 * What a message on the inbox topic says happened (its `event` attribute):
 * - `item_created`: a new inbox item, for people (the e-mails, the local outbox) and, for a GitHub
 *   run's pause, the webhook function, which posts it on the thread;
 * - `item_resolved`: an item resolved outside GitHub (the API, the CLI, the console), for the webhook
 *   function, which moves the run's status comment on from "waiting";
 * - `queue_moved`: the run queue changed near its head, for the webhook function, which edits the
 *   queued status comments whose place changed (core/github/queue-comments.ts).
 */
export const InboxEvent = z.enum(['item_created', 'item_resolved', 'queue_moved']);
export type InboxEvent = z.infer<typeof InboxEvent>;

/** The events people are told of: the e-mail subscriptions' filter and the local outbox. The others are machine events. */
export const PEOPLE_EVENTS: readonly InboxEvent[] = ['item_created'];

/** Whether a message of the inbox topic (or another topic, which carries no `event`) is one for people to read. */
export function isForPeople(attributes: Readonly<Record<string, string>>): boolean {
  const event = attributes[INBOX_ATTRIBUTES.event];
  return event === undefined || (PEOPLE_EVENTS as readonly string[]).includes(event);
}

/**
 * Where inbox items are announced: a new one (core/runs/pause.ts once the run waits,
 * core/runs/finalize.ts for the `pr_ready`/`failed` item of a run that ended), and one resolved
 * through the API (core/runs/answer.ts), so a GitHub run's status comment leaves "waiting" at once.
 */
export interface InboxNotifier {
  itemCreated(notification: InboxNotification): Promise<void>;
  itemResolved(notification: InboxNotification): Promise<void>;
}

/** Tells the inbox topic's subscribers that the run queue changed near its head (core/runs/queue-moves.ts). */
export type QueueMovedAnnouncer = () => Promise<void>;

export function notificationOf(
  item: Pick<StoredInboxItem, 'itemId' | 'type' | 'runId' | 'repo' | 'requester'>,
  run: Pick<RunRecord, 'thread'>,
): InboxNotification {
  return {
    itemId: item.itemId,
    type: item.type,
    runId: item.runId,
    repo: item.repo,
    requester: item.requester,
    thread: run.thread ?? null,
  };
}

/**
 * Announces a new item (`itemCreated`) or one resolved through the API (`itemResolved`), if there is
 * a notifier. A failed publish is written to the run's timeline and does not fail the caller: the item
 * is in the inbox (or resolved) either way, and failing the Pause or Finalize task would retry a step
 * that is complete, whose retry could not announce it either.
 */
export async function announceItem<E extends keyof InboxNotifier>(
  deps: { notify?: Pick<InboxNotifier, E>; events: Pick<RunEventLog, 'append'> },
  item: Pick<StoredInboxItem, 'itemId' | 'type' | 'runId' | 'repo' | 'requester'>,
  run: Pick<RunRecord, 'thread'>,
  event: E,
): Promise<void> {
  if (!deps.notify) return;
  try {
    await deps.notify[event](notificationOf(item, run));
  } catch (err) {
    await deps.events.append(
      item.runId,
      'note',
      `the inbox notification for ${item.itemId} could not be sent: ${err instanceof Error ? err.name : 'error'}`,
      { itemId: item.itemId },
    );
  }
}

/** The CLI command that resolves an item of this type with this action. */
export function cliCommandFor(itemId: string, type: InboxItemType, action: InboxAction): string {
  switch (action) {
    case 'answer':
      return `nightshift answer ${itemId} "<your answer>"`;
    case 'approve':
      return type === 'budget_approval' ? `nightshift approve ${itemId} --extra-budget <usd>` : `nightshift approve ${itemId}`;
    case 'reject':
      return `nightshift reject ${itemId}`;
    case 'dismiss':
      return `nightshift dismiss ${itemId}`;
  }
}

/** The GitHub comment command that resolves an item of this type with this action (core/github/inbox-commands.ts). */
export function commentCommandFor(command: string, type: InboxItemType, action: InboxAction): string | undefined {
  switch (action) {
    case 'answer':
      return `${command} answer <your answer>`;
    case 'approve':
      return type === 'budget_approval' ? `${command} approve <extra USD>` : `${command} approve`;
    case 'reject':
      return `${command} reject`;
    case 'dismiss':
      return undefined;
  }
}

const label: Record<InboxItemType, string> = {
  question: 'asks a question',
  stuck: 'is stuck and asks for a hint',
  plan_approval: 'proposes a plan to approve',
  risky_action: 'waits for approval of a risky action',
  budget_approval: 'asks for more budget',
  pr_ready: 'has a pull request ready for review',
  failed: 'failed',
};

/**
 * The topic message (SNS `Subject` is at most 100 ASCII characters without line breaks; the body is
 * plain text for e-mail). Pure: every value in it is an id, a type, a repository or a thread, each
 * validated by the schema above, so nothing agent-written reaches it.
 */
export function notificationText(n: InboxNotification, commentCommand: string): { subject: string; message: string } {
  const actions = actionsFor[n.type];
  const subject = `Nightshift: run ${n.runId} on ${n.repo} ${label[n.type]}`.replace(/[^\x20-\x7E]/g, '?').slice(0, 100);
  const lines = [
    `A Nightshift run ${label[n.type]} (inbox item ${n.itemId}, type ${n.type}).`,
    '',
    `Repository: ${n.repo}`,
    `Run:        ${n.runId}`,
    `Requester:  ${n.requester}`,
    ...(n.thread ? [`GitHub:     ${n.thread}`] : []),
    '',
    `Read it:    nightshift inbox --state open   (or the console's inbox page)`,
    ...actions.map((a) => `Resolve:    ${cliCommandFor(n.itemId, n.type, a)}`),
  ];
  if (n.thread) {
    const onGithub = actions.map((a) => commentCommandFor(commentCommand, n.type, a)).filter((c): c is string => c !== undefined);
    if (onGithub.length > 0)
      lines.push('', `Or comment on ${n.thread} (people with write access): ${onGithub.map((c) => `\`${c}\``).join(', ')}`);
  }
  if (n.type === 'pr_ready')
    lines.push(
      '',
      "Merging or closing the pull request on GitHub closes this item too; while it is open it counts in the requester's review backlog.",
    );
  lines.push(
    '',
    `The item itself (${n.type === 'pr_ready' ? 'the pull request link' : n.type === 'failed' ? 'the failure' : 'the question, the plan, the action'}) is not in this message: read it where you resolve it.`,
  );
  return { subject, message: lines.join('\n') };
}
