import type { RunEvent, RunView } from '../core/runs/schemas';

/** How the CLI prints runs and events for people (`--json` prints the API's JSON instead). */

export function usd(amount: number): string {
  return amount < 1 && amount > 0 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}

export function runSummaryLine(run: RunView, turns?: number, activity?: string): string {
  const parts: string[] = [run.status];
  if (run.queuePosition !== null && run.status === 'QUEUED') parts.push(`queue position ${run.queuePosition}`);
  if (run.queueReason && run.status === 'QUEUED') parts.push(oneLine(run.queueReason, 160));
  if (turns !== undefined) parts.push(`${turns} turn${turns === 1 ? '' : 's'}`);
  parts.push(`${usd(run.costUsd)} of ${usd(run.budgetUsd)}`);
  // What runs now (already redacted by the runner), so a long test run does not look like a hang.
  if (activity) parts.push(`running ${oneLine(activity, 120)}`);
  return parts.join(' · ');
}

export function runDetail(run: RunView): string {
  const rows: [string, string | null][] = [
    ['run', run.runId],
    ['repo', run.repo],
    [
      'status',
      run.status +
        (run.outcome ? ` (${run.outcome})` : '') +
        (run.cancelRequested && run.status !== 'CANCELLED' ? ' · cancel requested' : ''),
    ],
    ['requester', run.requester],
    ['source', run.source],
    ['kind', run.kind + (run.pr !== null ? ` of pull request #${run.pr}` : '')],
    ['created', run.createdAt],
    ['started', run.startedAt],
    ['finished', run.finishedAt],
    [
      'queue',
      run.queuePosition !== null ? String(run.queuePosition) + (run.queueReason ? ` (${oneLine(run.queueReason, 300)})` : '') : null,
    ],
    ['priority', run.priority === 'normal' ? null : run.priority],
    ['branch', run.branch],
    ['pull request', run.prUrl ? run.prUrl + (run.pullRequest ? ` (${run.pullRequest.state} ${run.pullRequest.at})` : '') : null],
    ['thread', run.thread],
    [
      'resumed',
      run.automaticResumes
        ? `${run.automaticResumes.count} time${run.automaticResumes.count === 1 ? '' : 's'} without a human, now on ${run.automaticResumes.capacityProvider} (last: ${oneLine(run.automaticResumes.lastCause, 200)})`
        : null,
    ],
    ['cost', `${usd(run.costUsd)} of ${usd(run.budgetUsd)}`],
    [
      'tokens',
      `in ${run.tokens.input} · out ${run.tokens.output} · cache read ${run.tokens.cacheRead} · cache write ${run.tokens.cacheWrite}`,
    ],
    ['error', run.error ? `${run.error.code}: ${run.error.message}` : null],
    ['prompt', oneLine(run.prompt, 200)],
  ];
  return rows
    .filter((row): row is [string, string] => row[1] !== null)
    .map(([k, v]) => `${k.padEnd(13)} ${v}`)
    .join('\n');
}

export function runsTable(runs: readonly RunView[]): string {
  if (runs.length === 0) return 'no runs';
  const header = ['RUN', 'STATUS', 'KIND', 'OUTCOME', 'REPO', 'COST', 'CREATED', 'PR', 'PROMPT'];
  const rows = runs.map((r) => [
    r.runId,
    r.status,
    r.kind,
    r.outcome ?? (r.error ? r.error.code : '-'),
    r.repo,
    usd(r.costUsd),
    r.createdAt.replace(/\.\d+Z$/, 'Z'),
    r.prUrl ? oneLine(r.prUrl, 80) : '-',
    oneLine(r.prompt, 40),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export function eventLine(event: RunEvent): string {
  const time = event.at.replace(/^\d{4}-\d{2}-\d{2}T/, '').replace(/Z$/, '');
  return `${time}  ${event.type.padEnd(14)} ${oneLine(event.message, 500)}`;
}

/** Untrusted text (model output, tool output) printed on one line, without terminal control sequences. */
export function oneLine(text: string, max: number): string {
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from untrusted text is the point
    .replace(/[\u0000-\u001F\u007F-\u009F]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
