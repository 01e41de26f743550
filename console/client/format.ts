import { RUN_STATUSES, TERMINAL_STATUSES } from '../../core/runs/statuses';
export function usd(value: number): string {
  return `$${value < 0.01 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;
}

export function usdFromMicros(micros: number): string {
  return usd(micros / 1_000_000);
}

/** `2026-01-01T10:00:00Z` → a short local date and time; the full ISO time stays in the title. */
export function when(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

export const STATUSES: readonly string[] = RUN_STATUSES;

/** `local:alice` or an IAM ARN → something short enough for a table cell (the full value is the title). */
export function shortRequester(requester: string): string {
  const role = /:assumed-role\/([^/]+)\//.exec(requester) ?? /:(?:user|role)\/(.+)$/.exec(requester);
  return role ? role[1]! : requester;
}
