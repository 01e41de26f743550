import { api } from '../api';
import type { RunAnswer, RunPageAnswer } from '../answers';
import { el, replaceChildren, routeLink, safeHref } from '../dom';
import { STATUSES, TERMINAL, shortRequester, usd, when } from '../format';
import { live } from '../live';
import type { PageContext } from '../page';

/** The runs, newest first, with filters in the address (so a filtered view can be bookmarked), live. */
export function runsPage(ctx: PageContext): () => void {
  const params = new URLSearchParams(location.search);
  const filter = { status: params.get('status') ?? '', repo: params.get('repo') ?? '', requester: params.get('requester') ?? '' };

  const statusSelect = el(
    'select',
    { id: 'filter-status', name: 'status' },
    el('option', { value: '' }, 'any status'),
    ...STATUSES.map((s) => el('option', { value: s, ...(s === filter.status ? { selected: true } : {}) }, s)),
  );
  const repoSelect = el('select', { id: 'filter-repo', name: 'repo' }, el('option', { value: '' }, 'any repository'));
  const requesterInput = el('input', {
    id: 'filter-requester',
    name: 'requester',
    type: 'text',
    value: filter.requester,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const addRepos = (names: readonly string[]) => {
    // A filter on a repository no longer in the allowlist still shows as chosen.
    const all = filter.repo && !names.includes(filter.repo) ? [...names, filter.repo] : names;
    for (const name of all)
      repoSelect.appendChild(el('option', { value: name, ...(name === filter.repo ? { selected: true } : {}) }, name));
  };
  ctx.config.then(
    (config) => addRepos(config.repos.map((r) => r.name)),
    () => addRepos([]),
  );

  const form = el(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
    el('div', { class: 'field' }, el('label', { for: 'filter-status' }, 'Status'), statusSelect),
    el('div', { class: 'field' }, el('label', { for: 'filter-repo' }, 'Repository'), repoSelect),
    el('div', { class: 'field' }, el('label', { for: 'filter-requester' }, 'Requester'), requesterInput),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (statusSelect.value) next.set('status', statusSelect.value);
    if (repoSelect.value) next.set('repo', repoSelect.value);
    if (requesterInput.value.trim()) next.set('requester', requesterInput.value.trim());
    ctx.navigate(`/${next.size > 0 ? `?${next}` : ''}`);
  });

  const tbody = el('tbody', {});
  const table = el(
    'table',
    { class: 'runs' },
    el('caption', { class: 'visually-hidden' }, 'Runs, newest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['Run', 'Status', 'Kind', 'Repository', 'Requester', 'Outcome', 'Cost of budget', 'Pull request', 'Queue', 'Created'].map((h) =>
          el('th', { scope: 'col' }, h),
        ),
      ),
    ),
    tbody,
  );
  const empty = el('p', { class: 'muted', hidden: true }, 'No runs yet. ', routeLink('/submit', 'Submit one.'));
  const more = el('button', { type: 'button', hidden: true, class: 'secondary' }, 'Show older runs');
  const problem = el('p', { class: 'problem', role: 'alert', hidden: true });

  ctx.main.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Runs'), routeLink('/submit', 'New run')),
    form,
    problem,
    el('div', { class: 'table-scroll' }, table),
    empty,
    more,
  );

  // The first page is polled; older pages, once loaded, are kept as they are (they are mostly finished runs).
  let first: RunPageAnswer = { runs: [], nextCursor: null };
  let older: RunAnswer[] = [];
  let olderCursor: string | null = null;
  let lastSignature = '';
  const query = {
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.repo ? { repo: filter.repo } : {}),
    ...(filter.requester ? { requester: filter.requester } : {}),
  };

  const render = () => {
    const seen = new Set(first.runs.map((r) => r.runId));
    const rows = [...first.runs, ...older.filter((r) => !seen.has(r.runId))];
    replaceChildren(tbody, ...rows.map(runRow));
    empty.hidden = rows.length > 0;
    const cursor = older.length > 0 ? olderCursor : first.nextCursor;
    more.hidden = !cursor;
  };

  const poller = live({
    tick: async () => {
      first = await api.listRuns({ ...query, limit: 25 });
      const signature = JSON.stringify(first.runs.map((r) => [r.runId, r.status, r.costUsd, r.queuePosition, r.prUrl]));
      const changed = signature !== lastSignature;
      if (changed) {
        lastSignature = signature;
        render();
      }
      ctx.ready();
      // Finished runs do not change: with nothing active on the page, poll slowly.
      return changed && first.runs.some((r) => !TERMINAL.has(r.status));
    },
    onError: (error) => {
      problem.hidden = error === undefined;
      problem.textContent = error === undefined ? '' : `Could not load runs: ${(error as Error).message}. Retrying.`;
    },
    fastMs: 1_500,
  });

  more.addEventListener('click', async () => {
    const cursor = older.length > 0 ? olderCursor : first.nextCursor;
    if (!cursor) return;
    more.disabled = true;
    try {
      const page = await api.listRuns({ ...query, cursor, limit: 25 });
      older = [...(older.length > 0 ? older : first.runs), ...page.runs];
      olderCursor = page.nextCursor;
      render();
    } catch (error) {
      problem.hidden = false;
      problem.textContent = `Could not load older runs: ${(error as Error).message}`;
    } finally {
      more.disabled = false;
    }
  });

  return () => poller.stop();
}

function runRow(run: RunAnswer): HTMLTableRowElement {
  const pr = safeHref(run.prUrl);
  const over = run.costUsd > run.budgetUsd;
  return el(
    'tr',
    { 'data-run-id': run.runId },
    el(
      'td',
      {},
      routeLink(
        `/runs/${encodeURIComponent(run.runId)}`,
        el('code', {}, run.runId.slice(-8)),
        el('span', { class: 'visually-hidden' }, ` run ${run.runId}`),
      ),
    ),
    el('td', {}, statusBadge(run)),
    // A review run says which pull request it read.
    el('td', {}, run.kind === 'review' && run.pr !== null ? `review of #${run.pr}` : run.kind),
    el('td', {}, run.repo),
    el('td', { title: run.requester }, shortRequester(run.requester)),
    el('td', {}, run.outcome ?? (run.error ? run.error.code : '—')),
    el(
      'td',
      { class: over ? 'cost over' : 'cost' },
      `${usd(run.costUsd)} of ${usd(run.budgetUsd)}`,
      el('meter', {
        min: 0,
        max: run.budgetUsd,
        value: Math.min(run.costUsd, run.budgetUsd),
        'aria-label': `cost ${usd(run.costUsd)} of ${usd(run.budgetUsd)} budget`,
      }),
    ),
    el(
      'td',
      {},
      pr ? el('a', { href: pr, rel: 'noopener noreferrer' }, 'PR', el('span', { class: 'visually-hidden' }, ` of run ${run.runId}`)) : '—',
    ),
    el('td', {}, run.queuePosition !== null && run.status === 'QUEUED' ? `#${run.queuePosition}` : '—'),
    el('td', { title: run.createdAt }, when(run.createdAt)),
  );
}

export function statusBadge(run: Pick<RunAnswer, 'status' | 'cancelRequested'>): HTMLElement {
  return el(
    'span',
    { class: `status status-${run.status.toLowerCase()}`, 'data-status': run.status },
    run.status.replace(/_/g, ' '),
    run.cancelRequested && !TERMINAL.has(run.status) ? ' (cancelling)' : '',
  );
}
