import type { DiffFile, DiffLine, RiskKind } from '../../core/console/risky-diff';
import type { DiffAnswer } from './answers';
import { el, type Child } from './dom';

export const RISK_LABEL: Record<RiskKind, string> = {
  protected_path: 'protected path',
  ci_config: 'CI config',
  deleted_test: 'deleted test',
  skipped_test: 'skipped test',
  lockfile: 'lockfile',
  migration: 'migration',
};

function riskBadges(kinds: readonly RiskKind[]): Child[] {
  return [...new Set(kinds)].map((kind) => el('span', { class: `risk risk-${kind}` }, RISK_LABEL[kind]));
}

function lineRow(line: DiffLine, showReason: boolean): HTMLTableRowElement {
  const sign = line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : line.kind === 'note' ? '' : ' ';
  const risky = line.risks.length > 0;
  const label = line.kind === 'add' ? 'added' : line.kind === 'del' ? 'removed' : line.kind === 'note' ? 'note' : 'unchanged';
  return el(
    'tr',
    {
      class: `line line-${line.kind}${risky ? ' line-risky' : ''}`,
      ...(risky ? { 'data-risk': line.risks.map((r) => r.kind).join(' ') } : {}),
    },
    el('td', { class: 'num' }, line.oldNumber ?? ''),
    el('td', { class: 'num' }, line.newNumber ?? ''),
    el('td', { class: 'sign' }, el('span', { 'aria-hidden': 'true' }, sign), el('span', { class: 'visually-hidden' }, label)),
    el('td', { class: 'code' }, el('code', {}, line.text)),
    el(
      'td',
      { class: 'risks' },
      ...(risky
        ? [
            el('span', { class: 'visually-hidden' }, 'risky: '),
            ...riskBadges(line.risks.map((r) => r.kind)),
            showReason ? el('span', { class: 'risk-reason' }, line.risks.map((r) => r.reason).join('; ')) : null,
          ]
        : []),
    ),
  );
}

/** The reason of a risk is spelled out where it starts, not repeated on every following line. */
function linesWithReasons(lines: readonly DiffLine[]): HTMLTableRowElement[] {
  let previous = '';
  return lines.map((line) => {
    const reasons = line.risks.map((r) => r.reason).join('; ');
    const row = lineRow(line, reasons !== '' && reasons !== previous);
    previous = reasons;
    return row;
  });
}

function fileBlock(file: DiffFile, index: number): HTMLElement {
  const lineRisks = file.hunks.flatMap((h) => h.lines.flatMap((l) => l.risks.map((r) => r.kind)));
  const headingId = `diff-file-${index}`;
  const rename = file.change === 'renamed' && file.oldPath ? `${file.oldPath} → ` : '';
  const body: Child[] = file.binary
    ? [el('p', { class: 'muted' }, 'Binary file: not shown.')]
    : file.hunks.length === 0
      ? [el('p', { class: 'muted' }, 'No line changes.')]
      : [
          el(
            'table',
            { class: 'diff-table', 'aria-labelledby': headingId },
            el(
              'thead',
              { class: 'visually-hidden' },
              el(
                'tr',
                {},
                el('th', { scope: 'col' }, 'old line'),
                el('th', { scope: 'col' }, 'new line'),
                el('th', { scope: 'col' }, 'change'),
                el('th', { scope: 'col' }, 'text'),
                el('th', { scope: 'col' }, 'risk'),
              ),
            ),
            ...file.hunks.map((hunk) =>
              el(
                'tbody',
                {},
                el('tr', { class: 'hunk' }, el('td', { colspan: 5 }, el('code', {}, hunk.header))),
                ...linesWithReasons(hunk.lines),
              ),
            ),
          ),
        ];
  return el(
    'section',
    { class: `diff-file${lineRisks.length > 0 || file.risks.length > 0 ? ' diff-file-risky' : ''}` },
    el(
      'h3',
      { id: headingId, class: 'diff-file-name' },
      el('span', { class: `change change-${file.change}` }, file.change),
      ' ',
      el('code', {}, `${rename}${file.path}`),
      ' ',
      el('span', { class: 'counts' }, `+${file.additions} −${file.deletions}`),
      ' ',
      ...riskBadges([...file.risks.map((r) => r.kind), ...lineRisks]),
    ),
    ...body,
  );
}

/** A classified diff as a list of files, risky lines marked with a badge and the reason in words. */
export function diffView(diff: DiffAnswer): HTMLElement {
  const riskyFiles = diff.files.filter((f) => f.risks.length > 0 || f.hunks.some((h) => h.lines.some((l) => l.risks.length > 0)));
  return el(
    'div',
    { class: 'diff' },
    el(
      'p',
      { class: 'diff-summary' },
      `${diff.files.length} file${diff.files.length === 1 ? '' : 's'} changed`,
      diff.riskyLines > 0 || riskyFiles.length > 0
        ? el(
            'strong',
            { class: 'risk-summary' },
            ` · ${diff.riskyLines} risky line${diff.riskyLines === 1 ? '' : 's'} in ${riskyFiles.length} file${riskyFiles.length === 1 ? '' : 's'}`,
          )
        : ' · nothing marked risky',
      diff.truncated ? ' · the diff is long: only its beginning is shown' : '',
    ),
    ...diff.files.map(fileBlock),
  );
}
