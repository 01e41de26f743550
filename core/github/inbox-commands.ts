import { InboxItemId, MAX_ANSWER_CHARS, type InboxItemView, type ResolveInboxRequest } from '../inbox/inbox-item';
import { commentCommandFor, cliCommandFor } from '../inbox/inbox-notification';
import { actionsFor } from '../inbox/inbox-item';
import { inertMarkdown } from '../text/inert-markdown';
import { stripHiddenText, truncateText } from './untrusted-text';

/**
 * The inbox on a GitHub thread (docs/github-app.md#answering-on-github): the question or approval of a GitHub run is
 * posted on its issue or pull request, and `/nightshift answer <text>`, `/nightshift approve` or
 * `/nightshift reject` by someone with write access resolves it. Pure: parsing and the texts.
 */

export type InboxCommandAction = 'answer' | 'approve' | 'reject';

export interface InboxCommand {
  action: InboxCommandAction;
  /** The item named in the command (`/nightshift answer <itemId> ...`); null: the thread's one open item. */
  itemId: string | null;
  /** What follows the action (and the item id), hidden characters stripped, trimmed. */
  text: string;
}

const ACTION = /^(answer|approve|reject)(?=\s|$)/i;

/**
 * The inbox command in a `/nightshift` comment's instructions, when its first word is `answer`,
 * `approve` or `reject` (those words always mean the inbox, as `stop` always means stop: a person who
 * wants a run that "answers" something writes it otherwise). Hidden characters (HTML comments,
 * zero-width and bidi controls) are stripped before anything is read, so what decides is what a
 * reader of the thread sees.
 */
export function parseInboxCommand(instructions: string): InboxCommand | undefined {
  const visible = stripHiddenText(instructions).trim();
  const match = ACTION.exec(visible);
  if (!match) return undefined;
  const action = match[1]!.toLowerCase() as InboxCommandAction;
  let rest = visible.slice(match[0].length).trim();
  let itemId: string | null = null;
  const first = /^(\S+)(?:\s+|$)/.exec(rest);
  if (first && InboxItemId.safeParse(first[1]!.toUpperCase()).success) {
    itemId = first[1]!.toUpperCase();
    rest = rest.slice(first[0].length).trim();
  }
  return { action, itemId, text: rest };
}

/** A usable `POST /v1/inbox/{id}` body from the command, or why not (the same rules then apply in answer.ts). */
export function resolveRequestOf(
  command: InboxCommand,
  item: Pick<InboxItemView, 'type'>,
): { request: ResolveInboxRequest } | { refusal: string } {
  switch (command.action) {
    case 'answer':
      if (!command.text) return { refusal: 'the answer is empty: write it after the command, e.g. `answer use the v2 endpoint`.' };
      if (command.text.length > MAX_ANSWER_CHARS) return { refusal: `the answer is longer than ${MAX_ANSWER_CHARS} characters.` };
      return { request: { action: 'answer', answer: command.text } };
    case 'reject':
      // Text after `reject` is for the people on the thread; the API's reject takes none.
      return { request: { action: 'reject' } };
    case 'approve': {
      if (item.type === 'budget_approval') {
        const amount = /^\$?(\d{1,5}(?:\.\d{1,2})?)$/.exec(command.text);
        const usd = amount ? Number(amount[1]) : Number.NaN;
        if (!(usd > 0))
          return { refusal: 'approving more budget needs the amount in USD after `approve`, e.g. `approve 2` or `approve $2.50`.' };
        return { request: { action: 'approve', extraBudgetUsd: usd } };
      }
      if (item.type === 'plan_approval' && command.text) {
        if (command.text.length > 20_000) return { refusal: 'the edited plan is longer than 20,000 characters.' };
        return { request: { action: 'approve', plan: command.text } };
      }
      if (command.text) return { refusal: `approving a ${item.type} item takes nothing after \`approve\`.` };
      return { request: { action: 'approve' } };
    }
  }
}

const head = (runId: string) => `**Nightshift** run \`${runId}\``;

const asks: Record<InboxItemView['type'], string> = {
  question: 'asks a question',
  stuck: 'is stuck and asks for a hint',
  plan_approval: 'proposes a plan and waits for approval',
  risky_action: 'waits for approval of an action',
  budget_approval: 'ran out of budget and asks for more',
  pr_ready: 'has a pull request ready',
  failed: 'failed',
};

/** Agent-written text as a Markdown quote that links, mentions and images cannot come out of. */
function quoted(text: string): string {
  const inert = inertMarkdown(truncateText(text, 4_000), { allowedUrlPrefixes: [] });
  return inert
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** The comment that puts an item on its run's thread: what it asks, and how to resolve it here or with the CLI. */
export function inboxItemComment(
  item: Pick<InboxItemView, 'itemId' | 'type' | 'runId' | 'message' | 'details'>,
  commentCommand: string,
): string {
  const actions = actionsFor[item.type];
  const here = actions.map((a) => commentCommandFor(commentCommand, item.type, a)).filter((c): c is string => c !== undefined);
  const budget = item.type === 'budget_approval' ? budgetLine(item.details) : '';
  return [
    `${head(item.runId)} ${asks[item.type]} (inbox item \`${item.itemId}\`):`,
    '',
    quoted(item.message),
    ...(budget ? ['', budget] : []),
    '',
    here.length > 0
      ? `Reply with ${here.map((c) => `\`${c}\``).join(' or ')} (people with write access to this repository), or use ${actions.map((a) => `\`${cliCommandFor(item.itemId, item.type, a)}\``).join(' / ')}.`
      : `Resolve it with ${actions.map((a) => `\`${cliCommandFor(item.itemId, item.type, a)}\``).join(' / ')}.`,
    'The run holds no compute while it waits.',
  ].join('\n');
}

function budgetLine(details: Record<string, unknown>): string {
  const n = (key: string) =>
    typeof details[key] === 'number' && Number.isFinite(details[key]) ? `$${(details[key] as number).toFixed(2)}` : undefined;
  const spent = n('spentUsd');
  const budget = n('budgetUsd');
  const next = n('nextCallUsd');
  return spent && budget ? `Spent ${spent} of its ${budget} budget${next ? `; the next model call may cost up to ${next}` : ''}.` : '';
}

/** The reply to a command that resolved an item. */
export function resolvedReply(login: string, item: Pick<InboxItemView, 'itemId' | 'runId' | 'type'>, action: InboxCommandAction): string {
  const what = action === 'answer' ? 'answered' : action === 'approve' ? 'approved' : 'rejected';
  const next =
    action !== 'reject'
      ? 'it is queued to resume on its branch.'
      : item.type === 'budget_approval'
        ? 'it ends without more budget; its work in progress stays on its branch.'
        : 'the run was told; its status comment shows what it does next.';
  return `@${login} ${what} inbox item \`${item.itemId}\` of ${head(item.runId)}: ${next}`;
}

/** The reply to a command that changed nothing, with why. */
export function refusedReply(login: string, reason: string): string {
  return `@${login}, Nightshift did not take this: ${inertMarkdown(reason, { allowedUrlPrefixes: [] })}`;
}

/** Several items wait on this thread: which one is meant must be said. */
export function ambiguousReply(
  login: string,
  items: readonly Pick<InboxItemView, 'itemId' | 'type' | 'runId'>[],
  commentCommand: string,
): string {
  return `@${login}, more than one Nightshift item waits on this thread, so this resolved none. Name the one you mean: ${items
    .map((i) => `\`${commentCommand} <action> ${i.itemId}\` (${i.type} of run \`${i.runId}\`)`)
    .join(', ')}.`;
}
