import { type Command, Option } from 'commander';
import { positiveInteger, positiveNumber } from '../option-values';
import { actionsFor, InboxItemType, InboxStateFilter, type InboxItemView, type ResolveInboxRequest } from '../../core/inbox/inbox-item';
import type { RunEvent } from '../../core/runs/schemas';
import type { ApiClient } from '../api-client';
import { oneLine } from '../format';
import { readPromptArgument, readStandardInput } from '../prompt-source';

/**
 * `nightshift inbox`, `answer <itemId> <text>`, `approve <itemId>`, `reject <itemId>`, `dismiss <itemId>` (docs/cli.md): the
 * person's side of a paused run (docs/inbox.md). Every item text is agent-written: printed on one
 * line without control characters (`oneLine`).
 */
export interface InboxCommandContext {
  client: () => Promise<Pick<ApiClient, 'inbox' | 'resolveInboxItem'>>;
  out: (text: string) => void;
  json: () => boolean;
  /** Receives the command's exit code (the program reports it). */
  done: (exitCode: number) => void;
}

/** The command that resolves an item of this type, as a person types it. */
export function howToResolve(item: Pick<InboxItemView, 'itemId' | 'type'>): string {
  const actions = actionsFor[item.type];
  if (actions.includes('answer')) return `nightshift answer ${item.itemId} "<your answer>"`;
  if (actions.includes('approve')) {
    const extra =
      item.type === 'budget_approval' ? ' [--extra-budget <usd>]' : item.type === 'plan_approval' ? ' [--plan @edited-plan.md]' : '';
    return `nightshift approve ${item.itemId}${extra}   or   nightshift reject ${item.itemId}`;
  }
  // pr_ready and failed: nothing waits on them; a merged or closed PR closes a pr_ready item by itself.
  return item.type === 'pr_ready'
    ? `review the PR (merging or closing it closes this item), or nightshift dismiss ${item.itemId}`
    : `nightshift dismiss ${item.itemId}`;
}

export function inboxTable(items: readonly InboxItemView[]): string {
  if (items.length === 0) return 'nothing in the inbox';
  const header = ['ITEM', 'TYPE', 'STATE', 'REPO', 'RUN', 'CREATED', 'MESSAGE'];
  const rows = items.map((i) => [i.itemId, i.type, i.state, i.repo, i.runId, i.createdAt.replace(/\.\d+Z$/, 'Z'), oneLine(i.message, 80)]);
  const widths = header.map((h, n) => Math.max(h.length, ...rows.map((row) => row[n]!.length)));
  const table = [header, ...rows].map((row) => row.map((cell, n) => (n === row.length - 1 ? cell : cell.padEnd(widths[n]!))).join('  '));
  const open = items.filter((i) => i.state === 'open');
  return [...table, ...(open.length ? ['', ...open.map((i) => `${i.itemId}: ${howToResolve(i)}`)] : [])].join('\n');
}

/**
 * What `submit --wait` and `logs --follow` show when the run pauses: the status event of the pause
 * names its item (core/runs/pause.ts), and the person learns how to answer without leaving the terminal.
 */
export function pauseNotice(event: RunEvent): { itemId: string; type: InboxItemType; message: string; resolveWith: string } | undefined {
  if (event.type !== 'status' || event.detail?.to !== 'WAITING_FOR_HUMAN') return undefined;
  const itemId = event.detail.itemId;
  const type = InboxItemType.safeParse(event.detail.reason);
  if (typeof itemId !== 'string' || !type.success) return undefined;
  return {
    itemId,
    type: type.data,
    message: oneLine(event.message.replace(/^RUNNING → WAITING_FOR_HUMAN: [a-z_]+: /, ''), 500),
    resolveWith: howToResolve({ itemId, type: type.data }),
  };
}

export function pauseNoticeText(notice: NonNullable<ReturnType<typeof pauseNotice>>): string {
  return [
    `paused for a human (${notice.type}): ${notice.message}`,
    `  resolve it: ${notice.resolveWith}`,
    '  (the run holds no slot and no compute while it waits; this command keeps following it)',
  ].join('\n');
}

export function registerInboxCommands(program: Command, context: InboxCommandContext): void {
  const resolve = async (itemId: string, resolution: ResolveInboxRequest) => {
    const item = await (await context.client()).resolveInboxItem(itemId, resolution);
    context.out(
      context.json()
        ? JSON.stringify(item)
        : `${item.itemId} ${item.type} resolved: ${item.resolution?.action ?? item.state}${item.resolvedBy ? ` by ${item.resolvedBy}` : ''}`,
    );
    context.done(0);
  };

  program
    .command('inbox')
    .description('items that need a human, newest first: questions, approvals, ready PRs, failed runs')
    .addOption(new Option('--type <type>', 'only items of this type').choices(InboxItemType.options))
    .addOption(new Option('--state <state>', 'open (default), resolved or all').choices(InboxStateFilter.options))
    .option('--repo <repo>', 'only items of this repository')
    .option('--requester <requester>', 'only items of this requester (admins)')
    .option('--limit <n>', 'at most this many (≤ 100)', positiveInteger)
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(async (opts: { type?: string; state?: string; repo?: string; requester?: string; limit?: number; cursor?: string }) => {
      const page = await (await context.client()).inbox(opts);
      if (context.json()) context.out(JSON.stringify(page));
      else {
        context.out(inboxTable(page.items));
        if (page.nextCursor) context.out(`more: nightshift inbox --cursor ${page.nextCursor}`);
      }
      context.done(0);
    });

  program
    .command('answer')
    .description("answer an agent's question (or a stuck run's request for a hint); the run resumes on its branch")
    .argument('<itemId>')
    .argument('<text>', 'the answer; "-" reads it from standard input, "@file" from a file')
    .action(async (itemId: string, text: string) =>
      resolve(itemId, { action: 'answer', answer: await readPromptArgument(text, { readStdin: () => readStandardInput() }) }),
    );

  program
    .command('approve')
    .description('approve a plan, a risky action or more budget; the run resumes')
    .argument('<itemId>')
    .option('--extra-budget <usd>', 'budget_approval: how much more the run may spend, in USD', positiveNumber)
    .option('--plan <text>', 'plan_approval: the edited plan to follow ("@file" reads a file)')
    .action(async (itemId: string, opts: { extraBudget?: number; plan?: string }) =>
      resolve(itemId, {
        action: 'approve',
        ...(opts.extraBudget !== undefined ? { extraBudgetUsd: opts.extraBudget } : {}),
        ...(opts.plan !== undefined ? { plan: await readPromptArgument(opts.plan, { readStdin: () => readStandardInput() }) } : {}),
      }),
    );

  program
    .command('reject')
    .description('reject a plan, a risky action or more budget')
    .argument('<itemId>')
    .action(async (itemId: string) => resolve(itemId, { action: 'reject' }));

  program
    .command('dismiss')
    .description('dismiss a ready PR or a failed run from the inbox (nothing waits on them)')
    .argument('<itemId>')
    .action(async (itemId: string) => resolve(itemId, { action: 'dismiss' }));
}
