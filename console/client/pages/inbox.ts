import type { ResolveInboxRequest } from '../../../core/inbox/inbox-item';
import { api, ApiProblem } from '../api';
import type { InboxItemAnswer } from '../answers';
import { append, el, replaceChildren, routeLink, type Child } from '../dom';
import {
  BUDGET_FIELDS,
  changeLines,
  detailText,
  detailUsd,
  detailValueText,
  PLAN_FIELD,
  RISKY_FIELDS,
  shownFields,
  suggestedExtraUsd,
} from '../inbox-details';
import { shortRequester, usd, when } from '../format';
import { live } from '../live';
import type { PageContext } from '../page';

/** The groups, in the order a reviewer goes through them; a type the API adds later gets its own group at the end. */
const GROUPS: readonly { type: string; title: string }[] = [
  { type: 'question', title: 'Questions' },
  { type: 'plan_approval', title: 'Plans to approve' },
  { type: 'budget_approval', title: 'Budget approvals' },
  { type: 'risky_action', title: 'Actions to approve' },
  { type: 'stuck', title: 'Stuck runs' },
  { type: 'failed', title: 'Failed runs' },
  { type: 'pr_ready', title: 'Pull requests ready' },
];

/** How many open items the page reads (pages of 100); more than that is said on the page. */
const MAX_OPEN_PAGES = 5;
const RECENTLY_RESOLVED = 20;

function typeLabel(type: string): string {
  return type.replace(/_/g, ' ');
}

/** An item's card: kept across polls (a draft answer or an edited plan survives), replaced only by its own resolution. */
interface Card {
  item: InboxItemAnswer;
  node: HTMLElement;
  /** True once the person typed into the card: a poll does not take the card away then. */
  hasDraft(): boolean;
  /** The item left the open list while this card was still unresolved here. */
  noticeGone(): void;
  /** Resolved from this page: the card shows the outcome and stays until the page is left. */
  settled: boolean;
  /** No longer open (kept only for its draft): not counted as waiting. */
  gone: boolean;
}

/**
 * The inbox (docs/inbox.md, docs/console.md#the-inbox): the open items of the caller's runs (all runs for an admin) grouped by
 * type, each resolved with one click through `POST /v1/inbox/{itemId}`, and the recently resolved
 * ones; live by polling with backoff like the runs page. Every string of an item (its message, the
 * question, the plan, the details) is model- or agent-written and reaches the page as text only.
 */
export function inboxPage(ctx: PageContext): () => void {
  const heading = el('h1', {}, 'Inbox');
  const problem = el('p', { class: 'problem', role: 'alert', hidden: true });
  const empty = el('p', { class: 'muted', hidden: true }, 'Nothing needs you right now. Paused runs show up here when they ask.');
  const truncated = el('p', { class: 'muted', hidden: true }, `Only the ${MAX_OPEN_PAGES * 100} newest open items are shown.`);
  const groupsArea = el('div', { class: 'inbox-groups' });
  const resolvedList = el('ul', { class: 'inbox-resolved' });
  const resolvedEmpty = el('p', { class: 'muted' }, 'Nothing resolved yet.');

  ctx.main.append(
    el('div', { class: 'page-head' }, heading),
    el(
      'p',
      { class: 'muted' },
      'What your runs wait for: answer a question, approve or reject a plan, a budget or an action. A paused run holds no compute; your answer queues it again.',
    ),
    problem,
    empty,
    groupsArea,
    truncated,
    el(
      'section',
      { 'aria-labelledby': 'inbox-resolved-h' },
      el('h2', { id: 'inbox-resolved-h' }, 'Recently resolved'),
      resolvedEmpty,
      resolvedList,
    ),
  );

  const cards = new Map<string, Card>();
  const groups = new Map<string, { section: HTMLElement; title: HTMLElement; list: HTMLElement; label: string }>();
  let lastSignature = '';

  const groupFor = (type: string) => {
    let group = groups.get(type);
    if (group) return group;
    const known = GROUPS.find((g) => g.type === type);
    const id = `inbox-group-${type.replace(/[^a-z0-9_-]/gi, '-')}`;
    const title = el('h2', { id });
    const list = el('ul', { class: 'inbox-items' });
    group = {
      section: el('section', { class: 'inbox-group', 'data-type': type, 'aria-labelledby': id }, title, list),
      title,
      list,
      label: known?.title ?? typeLabel(type),
    };
    groups.set(type, group);
    // Sections in the fixed order, unknown types after the known ones.
    const rank = (t: string) => {
      const i = GROUPS.findIndex((g) => g.type === t);
      return i === -1 ? GROUPS.length : i;
    };
    const after = [...groups.entries()].filter(([t]) => t !== type && rank(t) > rank(type)).map(([, g]) => g.section);
    const next = [...groupsArea.children].find((child) => after.includes(child as HTMLElement)) ?? null;
    groupsArea.insertBefore(group.section, next);
    return group;
  };

  const resolveFrom =
    (card: () => Card | undefined) => async (request: ResolveInboxRequest, controls: HTMLElement, outcome: HTMLElement) => {
      const current = card();
      if (!current) return;
      const buttons = [...controls.querySelectorAll('button')];
      for (const button of buttons) button.disabled = true;
      outcome.hidden = true;
      try {
        const resolved = await api.resolveInboxItem(current.item.itemId, request);
        current.settled = true;
        current.item = resolved;
        replaceChildren(controls, resolutionLine(resolved));
        ctx.announce(
          `${typeLabel(resolved.type)} of run ${resolved.runId.slice(-8)} resolved: ${resolved.resolution?.action ?? request.action}`,
        );
        poller.poke();
      } catch (error) {
        outcome.hidden = false;
        replaceChildren(outcome, ...problemText(error));
        for (const button of buttons) button.disabled = false;
      }
    };

  const render = (open: InboxItemAnswer[], more: boolean, resolved: InboxItemAnswer[]) => {
    const openIds = new Set(open.map((i) => i.itemId));
    for (const item of open) {
      if (cards.has(item.itemId)) continue;
      let card: Card | undefined;
      const built = itemCard(
        item,
        resolveFrom(() => card),
      );
      card = { item, node: built.node, hasDraft: built.hasDraft, noticeGone: built.noticeGone, settled: false, gone: false };
      cards.set(item.itemId, card);
    }
    for (const [itemId, card] of cards) {
      if (openIds.has(itemId) || card.settled) continue;
      if (card.hasDraft()) {
        card.gone = true;
        card.noticeGone();
      } else {
        card.node.remove();
        cards.delete(itemId);
      }
    }
    // Newest first within each group; a card already in place is never moved (focus and drafts stay).
    const byType = new Map<string, Card[]>();
    for (const card of [...cards.values()].sort((a, b) => (a.item.itemId < b.item.itemId ? 1 : -1))) {
      const list = byType.get(card.item.type) ?? [];
      list.push(card);
      byType.set(card.item.type, list);
    }
    for (const type of new Set([...groups.keys(), ...byType.keys()])) {
      const group = groupFor(type);
      const wanted = (byType.get(type) ?? []).map((c) => c.node);
      for (const child of [...group.list.children]) if (!wanted.includes(child as HTMLElement)) child.remove();
      wanted.forEach((node, index) => {
        if (group.list.children[index] !== node) group.list.insertBefore(node, group.list.children[index] ?? null);
      });
      const waiting = (byType.get(type) ?? []).filter((c) => !c.settled && !c.gone).length;
      replaceChildren(group.title, group.label, ' ', el('span', { class: 'count' }, `(${waiting} open)`));
      group.section.hidden = wanted.length === 0;
    }
    const waitingTotal = [...cards.values()].filter((c) => !c.settled && !c.gone).length;
    replaceChildren(heading, 'Inbox', waitingTotal > 0 ? el('span', { class: 'count' }, ` (${waitingTotal} open)`) : null);
    document.title = `${waitingTotal > 0 ? `(${waitingTotal}) ` : ''}Inbox · Nightshift`;
    empty.hidden = cards.size > 0;
    truncated.hidden = !more;
    resolvedEmpty.hidden = resolved.length > 0;
    replaceChildren(resolvedList, ...resolved.map(resolvedRow));
  };

  const poller = live({
    tick: async () => {
      const open: InboxItemAnswer[] = [];
      let cursor: string | undefined;
      let more = false;
      for (let page = 0; page < MAX_OPEN_PAGES; page++) {
        const answer = await api.listInbox({ state: 'open', limit: 100, ...(cursor ? { cursor } : {}) });
        open.push(...answer.items);
        cursor = answer.nextCursor ?? undefined;
        more = cursor !== undefined;
        if (!cursor) break;
      }
      const resolved = (await api.listInbox({ state: 'resolved', limit: RECENTLY_RESOLVED })).items;
      const signature = JSON.stringify([open.map((i) => i.itemId), resolved.map((i) => [i.itemId, i.resolvedAt])]);
      const changed = signature !== lastSignature;
      if (changed) {
        if (lastSignature !== '' && open.some((i) => !cards.has(i.itemId))) ctx.announce('New items in the inbox');
        lastSignature = signature;
        render(open, more, resolved);
      }
      ctx.ready();
      return changed;
    },
    onError: (error) => {
      problem.hidden = error === undefined;
      problem.textContent = error === undefined ? '' : `Could not load the inbox: ${(error as Error).message}. Retrying.`;
      ctx.ready();
    },
  });

  return () => poller.stop();
}

type Resolve = (request: ResolveInboxRequest, controls: HTMLElement, outcome: HTMLElement) => Promise<void>;

/** One item: who and what it is about, the text it carries, and the one-click controls its type takes. */
function itemCard(item: InboxItemAnswer, resolve: Resolve): { node: HTMLElement; hasDraft(): boolean; noticeGone(): void } {
  const key = item.itemId;
  const outcome = el('div', { class: 'problem', role: 'alert', hidden: true });
  const gone = el('p', { class: 'notice', role: 'status', hidden: true });
  const controls = el('div', { class: 'inbox-controls' });
  const shown = shownFields(item);
  let draft = false;
  const markDraft = () => {
    draft = true;
  };
  const button = (label: string, request: () => ResolveInboxRequest | string, kind: 'primary' | 'secondary' | 'danger' = 'primary') => {
    const node = el('button', { type: 'button', ...(kind === 'primary' ? {} : { class: kind }) }, label);
    node.addEventListener('click', () => {
      const built = request();
      if (typeof built === 'string') {
        outcome.hidden = false;
        replaceChildren(outcome, el('p', {}, built));
        return;
      }
      void resolve(built, controls, outcome);
    });
    return node;
  };
  const approveOrReject = (what: string, approve: () => ResolveInboxRequest | string) =>
    el(
      'div',
      { class: 'buttons' },
      button(`Approve ${what}`, approve),
      button(`Reject ${what}`, () => ({ action: 'reject' }), 'danger'),
    );

  const body: Child[] = [];
  switch (item.type) {
    case 'question':
    case 'stuck': {
      const answer = el('textarea', { id: `answer-${key}`, name: 'answer', rows: 3, maxlength: 8_000, required: true });
      answer.addEventListener('input', markDraft);
      const send = button('Send answer', () =>
        answer.value.trim() === '' ? 'Write an answer first: the run continues with it.' : { action: 'answer', answer: answer.value },
      );
      // A stuck run asks for a hint: the runner saw it repeat a failing step (its details say which).
      append(
        controls,
        field(`answer-${key}`, item.type === 'stuck' ? 'Your hint' : 'Your answer', answer),
        el('div', { class: 'buttons' }, send),
      );
      break;
    }
    case 'plan_approval': {
      const proposed = detailText(item.details, PLAN_FIELD) ?? '';
      const plan = el('textarea', { id: `plan-${key}`, name: 'plan', rows: 10, maxlength: 20_000 });
      plan.value = proposed;
      plan.addEventListener('input', markDraft);
      append(
        controls,
        field(
          `plan-${key}`,
          'The proposed plan (edit it to approve your version)',
          plan,
          'Approve sends your edits if you made any; Reject ends the plan.',
        ),
        approveOrReject('plan', () => {
          const edited = plan.value.trim();
          if (edited === '') return 'The plan is empty: write one to approve, or reject.';
          return edited !== proposed.trim() ? { action: 'approve', plan: plan.value } : { action: 'approve' };
        }),
      );
      break;
    }
    case 'budget_approval': {
      const budget = detailUsd(item.details, BUDGET_FIELDS.budget);
      const spent = detailUsd(item.details, BUDGET_FIELDS.spent);
      const nextCall = detailUsd(item.details, BUDGET_FIELDS.nextCall);
      body.push(
        el(
          'dl',
          { class: 'facts-list' },
          el('dt', {}, 'Next model call'),
          el('dd', { class: 'amount' }, nextCall !== undefined ? `up to ${usd(nextCall)}` : '—'),
          el('dt', {}, 'Budget'),
          el('dd', {}, budget !== undefined ? usd(budget) : '—'),
          el('dt', {}, 'Spent'),
          el('dd', {}, spent !== undefined ? usd(spent) : '—'),
        ),
      );
      const extra = el('input', {
        id: `extra-${key}`,
        name: 'extraBudgetUsd',
        type: 'number',
        inputmode: 'decimal',
        min: 0.01,
        step: 0.01,
      });
      const suggested = suggestedExtraUsd(budget, nextCall);
      if (suggested !== undefined) extra.value = suggested.toFixed(2);
      extra.addEventListener('input', markDraft);
      append(
        controls,
        field(
          `extra-${key}`,
          'Extra budget (USD)',
          extra,
          'What approving adds to the run’s budget; prefilled with its budget again (never less than the call that did not fit).',
        ),
        approveOrReject('budget', () => {
          const amount = Number(extra.value);
          if (extra.value.trim() === '' || !Number.isFinite(amount) || amount <= 0)
            return 'Say how much more the run may spend: a number of dollars greater than 0.';
          return { action: 'approve', extraBudgetUsd: amount };
        }),
      );
      break;
    }
    case 'risky_action':
      body.push(riskyActionView(item));
      append(
        controls,
        approveOrReject('action', () => ({ action: 'approve' })),
      );
      break;
    case 'pr_ready':
    case 'failed':
      append(
        controls,
        el(
          'div',
          { class: 'buttons' },
          button('Dismiss', () => ({ action: 'dismiss' }), 'secondary'),
        ),
      );
      break;
    default:
      append(controls, el('p', { class: 'muted' }, `This console does not know items of type ${item.type}; resolve it with the CLI.`));
  }

  const rest = Object.entries(item.details).filter(([k]) => !shown.has(k));
  const node = el(
    'li',
    { class: 'inbox-item', 'data-item-id': item.itemId, 'data-type': item.type },
    el(
      'article',
      { 'aria-labelledby': `item-h-${key}` },
      el(
        'h3',
        { id: `item-h-${key}`, class: 'inbox-item-head' },
        el('span', { class: 'inbox-type' }, typeLabel(item.type)),
        ' ',
        item.repo,
      ),
      el(
        'p',
        { class: 'muted inbox-meta' },
        routeLink(
          `/runs/${encodeURIComponent(item.runId)}`,
          'run ',
          el('code', {}, item.runId.slice(-8)),
          el('span', { class: 'visually-hidden' }, ` (${item.runId})`),
        ),
        ' · ',
        el('span', { title: item.requester }, shortRequester(item.requester)),
        ' · ',
        el('time', { datetime: item.createdAt, title: item.createdAt }, when(item.createdAt)),
      ),
      el('p', { class: 'inbox-message' }, item.message),
      ...body,
      rest.length > 0
        ? el(
            'dl',
            { class: 'facts-list inbox-details' },
            ...rest.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, el('pre', {}, detailValueText(v)))]),
          )
        : null,
      gone,
      controls,
      outcome,
    ),
  );
  return {
    node,
    hasDraft: () => draft,
    noticeGone: () => {
      gone.hidden = false;
      gone.textContent = 'This item is no longer open: it was resolved elsewhere, or its run ended. Sending now gets the API’s answer.';
    },
  };
}

/**
 * What a risky action would do, all of it agent-written and shown as text: the tool, the command it
 * would run or the file it would change, the `approvalRequired` rule that held it back, and an edit's
 * proposed change as removed and added lines.
 */
function riskyActionView(item: InboxItemAnswer): HTMLElement {
  const tool = detailText(item.details, RISKY_FIELDS.tool);
  const command = detailText(item.details, RISKY_FIELDS.command);
  const path = detailText(item.details, RISKY_FIELDS.path);
  const pattern = detailText(item.details, RISKY_FIELDS.pattern);
  const change = detailText(item.details, RISKY_FIELDS.change);
  const key = item.itemId;
  return el(
    'div',
    { class: 'risky-action' },
    el(
      'dl',
      { class: 'facts-list' },
      el('dt', {}, 'Tool'),
      el('dd', {}, el('code', {}, tool ?? '—')),
      ...(command !== undefined
        ? [el('dt', {}, 'Command'), el('dd', {}, el('pre', { class: 'risky-command' }, el('code', {}, command)))]
        : []),
      ...(path !== undefined ? [el('dt', {}, 'File'), el('dd', {}, el('code', { class: 'risky-path' }, path))] : []),
      el('dt', {}, command !== undefined ? 'Matched command pattern' : 'Matched path glob'),
      el('dd', {}, el('code', { class: 'risky-pattern' }, pattern ?? '—')),
    ),
    change !== undefined
      ? el(
          'table',
          { class: 'diff-table risky-change', 'aria-labelledby': `change-h-${key}` },
          el('caption', { id: `change-h-${key}`, class: 'risky-change-caption' }, 'The proposed change'),
          el('thead', { class: 'visually-hidden' }, el('tr', {}, el('th', { scope: 'col' }, 'change'), el('th', { scope: 'col' }, 'text'))),
          el(
            'tbody',
            {},
            ...changeLines(change).map((line) =>
              el(
                'tr',
                { class: `line line-${line.kind}` },
                el(
                  'td',
                  { class: 'sign' },
                  el('span', { 'aria-hidden': 'true' }, line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : ' '),
                  el('span', { class: 'visually-hidden' }, line.kind === 'add' ? 'added' : line.kind === 'del' ? 'removed' : 'unchanged'),
                ),
                el('td', { class: 'code' }, el('code', {}, line.text)),
              ),
            ),
          ),
        )
      : null,
  );
}

/** A labelled control with its help text (the control's `aria-describedby` names `{id}-help`). */
function field(id: string, label: string, control: HTMLElement, help?: string): HTMLElement {
  if (help) control.setAttribute('aria-describedby', `${id}-help`);
  return el(
    'div',
    { class: 'field' },
    el('label', { for: id }, label),
    control,
    help ? el('p', { id: `${id}-help`, class: 'help' }, help) : null,
  );
}

const RESOLVED_AS: Readonly<Record<string, string>> = {
  answer: 'Answered',
  approve: 'Approved',
  reject: 'Rejected',
  dismiss: 'Dismissed',
  expired: 'Not answered in time',
  closed: 'Closed when its run ended',
};

function resolutionLine(item: InboxItemAnswer): HTMLElement {
  const r = item.resolution;
  const verb = r ? (RESOLVED_AS[r.action] ?? r.action) : 'Resolved';
  return el(
    'p',
    { class: 'resolution', role: 'status' },
    el('strong', {}, verb),
    r?.answer ? el('span', { class: 'resolution-answer' }, `: “${r.answer}”`) : null,
    item.resolvedBy ? ` by ${shortRequester(item.resolvedBy)}` : '',
    item.resolvedAt ? el('span', { class: 'muted' }, ` · ${when(item.resolvedAt)}`) : null,
    ' · ',
    routeLink(`/runs/${encodeURIComponent(item.runId)}`, 'follow the run'),
  );
}

function resolvedRow(item: InboxItemAnswer): HTMLElement {
  return el(
    'li',
    { 'data-item-id': item.itemId },
    el('span', { class: 'inbox-type' }, typeLabel(item.type)),
    ' ',
    item.repo,
    ' · ',
    routeLink(
      `/runs/${encodeURIComponent(item.runId)}`,
      'run ',
      el('code', {}, item.runId.slice(-8)),
      el('span', { class: 'visually-hidden' }, ` (${item.runId})`),
    ),
    ': ',
    el('span', { class: 'inbox-resolved-message' }, item.message.length > 160 ? `${item.message.slice(0, 160)}…` : item.message),
    resolutionLine(item),
  );
}

/** The API's refusal in words, with its status and code: a 409 says the item was resolved otherwise, a 404 that it is not there. */
function problemText(error: unknown): Child[] {
  if (!(error instanceof ApiProblem)) return [el('p', {}, `Not resolved: ${(error as Error).message}`)];
  const lead =
    error.status === 409
      ? 'Not resolved: someone or something resolved this item differently.'
      : error.status === 404
        ? 'Not resolved: this item does not exist, or it is not yours to see.'
        : 'Not resolved.';
  return [
    el(
      'p',
      {},
      lead,
      ' The API said: ',
      el('span', { class: 'api-message' }, error.message),
      ' ',
      el('span', { class: 'muted' }, `(${error.status || 'no answer'} ${error.code})`),
    ),
    error.details.length > 0 ? el('ul', {}, ...error.details.map((d) => el('li', {}, `${d.path}: ${d.message}`))) : null,
  ];
}
