import { BUDGET_DETAIL_FIELDS, PLAN_DETAIL_FIELD, RISKY_DETAIL_FIELDS } from '../../core/inbox/detail-fields';
import type { InboxItemAnswer } from './answers';

/**
 * What the inbox page reads out of an item's type-specific `details` (docs/inbox.md: the question, the
 * proposed plan, the action awaiting approval, the amount asked for, the failure). Each reader takes a
 * field only if it has the right kind of value; everything else in `details` is still shown, as text,
 * in the item's list of details, so a field the runner adds later is never hidden.
 */
export type Details = InboxItemAnswer['details'];

export function detailText(details: Details, key: string): string | undefined {
  const value = details[key];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

export function detailUsd(details: Details, key: string): number | undefined {
  const value = details[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The fields of a budget approval (the run's budget, its spend, its next call's worst case), as the runner writes them. */
export const BUDGET_FIELDS = BUDGET_DETAIL_FIELDS;

/** The field of a plan approval that holds the proposed plan, as the runner writes it. */
export const PLAN_FIELD = PLAN_DETAIL_FIELD;

/** The fields of a risky action (tool, command or path, the matched pattern, an edit's proposed change), as the runner writes them. */
export const RISKY_FIELDS = RISKY_DETAIL_FIELDS;

/** An edit's proposed change, line by line: `-` removes, `+` writes; any other line is context. */
export function changeLines(change: string): { kind: 'add' | 'del' | 'context'; text: string }[] {
  return change
    .split('\n')
    .map((line) =>
      line.startsWith('+')
        ? { kind: 'add', text: line.slice(1) }
        : line.startsWith('-')
          ? { kind: 'del', text: line.slice(1) }
          : { kind: 'context', text: line },
    );
}

/**
 * What the extra-budget field offers first: the run's own budget again (it doubles it), and never less
 * than the call that did not fit, rounded up to the cent. The requester changes it as they like.
 */
export function suggestedExtraUsd(budgetUsd: number | undefined, nextCallUsd: number | undefined): number | undefined {
  const floor = Math.max(budgetUsd ?? 0, nextCallUsd ?? 0);
  return floor > 0 ? Math.ceil(floor * 100) / 100 : undefined;
}

/** The fields the item's own view already shows, by type; the rest of `details` is listed as it is. */
export function shownFields(item: Pick<InboxItemAnswer, 'type' | 'message' | 'details'>): Set<string> {
  const shown = new Set<string>();
  // The question is the item's message (the runner writes both); shown once.
  if (detailText(item.details, 'question') === item.message) shown.add('question');
  if (item.type === 'plan_approval' && detailText(item.details, PLAN_FIELD) !== undefined) shown.add(PLAN_FIELD);
  if (item.type === 'budget_approval')
    for (const key of Object.values(BUDGET_FIELDS)) if (detailUsd(item.details, key) !== undefined) shown.add(key);
  if (item.type === 'risky_action')
    for (const key of Object.values(RISKY_FIELDS)) if (detailText(item.details, key) !== undefined) shown.add(key);
  return shown;
}

/** A detail's value as text: strings as they are, anything else as indented JSON. */
export function detailValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value, null, 2);
  return json === undefined ? String(value) : json;
}
