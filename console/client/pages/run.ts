import { blockedHosts, costSplit, testDelta, toolRunningNow, type TestSide } from '../../../core/console/run-insights';
import { api, ApiProblem } from '../api';
import type { EventAnswer, RunAnswer } from '../answers';
import { diffView } from '../diff-view';
import { el, replaceChildren, routeLink, safeHref, type Child } from '../dom';
import { TERMINAL, seconds, shortRequester, usd, usdFromMicros, when } from '../format';
import { live } from '../live';
import type { PageContext } from '../page';
import { statusBadge } from './runs';

/** Output longer than this many characters or lines is collapsed until opened. */
const LONG_CHARS = 240;
const LONG_LINES = 3;

/** One run: its record, what it is doing now, its tests, cost, timeline and diff, live until it ends. */
export function runPage(ctx: PageContext, runId: string): () => void {
  const header = el('div', { class: 'page-head' });
  const facts = el('div', { class: 'facts' });
  const now = el('p', { class: 'running-now', 'aria-live': 'polite' });
  const tests = el('section', { 'aria-labelledby': 'tests-h' }, el('h2', { id: 'tests-h' }, 'Tests'));
  const cost = el('section', { 'aria-labelledby': 'cost-h' }, el('h2', { id: 'cost-h' }, 'Cost'));
  const hosts = el('section', { 'aria-labelledby': 'hosts-h' }, el('h2', { id: 'hosts-h' }, 'Blocked hosts'));
  const timeline = el('ol', { class: 'timeline' });
  const diffArea = el('div', { id: 'diff-area' });
  const diffButton = el('button', { type: 'button', class: 'secondary' }, 'Load diff');
  const problem = el('p', { class: 'problem', role: 'alert', hidden: true });

  ctx.main.append(
    header,
    problem,
    facts,
    now,
    el('div', { class: 'panels' }, tests, cost, hosts),
    el('section', { 'aria-labelledby': 'timeline-h' }, el('h2', { id: 'timeline-h' }, 'Timeline'), timeline),
    el(
      'section',
      { 'aria-labelledby': 'diff-h' },
      el('div', { class: 'section-head' }, el('h2', { id: 'diff-h' }, 'Changes against the base branch'), diffButton),
      diffArea,
    ),
  );

  let run: RunAnswer | undefined;
  const events: EventAnswer[] = [];
  let pageCursor: string | undefined;
  let lastSeq = '';
  let lastStatus = '';
  let diffLoadedFor = '';

  const readNewEvents = async (): Promise<number> => {
    let added = 0;
    for (;;) {
      const page = await api.events(runId, pageCursor);
      for (const event of page.events) {
        if (event.seq > lastSeq) {
          events.push(event);
          timeline.appendChild(eventItem(event));
          lastSeq = event.seq;
          added++;
        }
      }
      if (!page.nextCursor) return added;
      pageCursor = page.nextCursor;
    }
  };

  const loadDiff = async () => {
    if (!run) return;
    diffButton.disabled = true;
    replaceChildren(diffArea, el('p', { class: 'muted' }, 'Loading the diff…'));
    try {
      const answer = await api.runDiff(runId);
      replaceChildren(
        diffArea,
        el('p', { class: 'muted' }, el('code', {}, answer.head), ' against ', el('code', {}, answer.base)),
        diffView(answer.diff),
      );
      diffLoadedFor = `${run.status}:${lastSeq}`;
    } catch (error) {
      const message =
        error instanceof ApiProblem && (error.code === 'no_branch' || error.code === 'diff_unavailable')
          ? error.message
          : `Could not load the diff: ${(error as Error).message}`;
      replaceChildren(diffArea, el('p', { class: 'muted' }, message));
    } finally {
      diffButton.disabled = false;
      diffButton.textContent = 'Refresh diff';
    }
  };
  diffButton.addEventListener('click', () => void loadDiff());

  const poller = live({
    tick: async () => {
      try {
        run = await api.getRun(runId);
      } catch (error) {
        if (error instanceof ApiProblem && error.status === 404) {
          replaceChildren(header, el('h1', {}, 'Run not found'));
          replaceChildren(facts, el('p', {}, 'There is no run with this id that you can see. ', routeLink('/', 'Back to the runs.')));
          poller.stop();
          ctx.ready();
          return false;
        }
        throw error;
      }
      const added = await readNewEvents();
      const statusChanged = run.status !== lastStatus;
      if (statusChanged && lastStatus !== '') ctx.announce(`Run ${runId.slice(-8)} is now ${run.status.replace(/_/g, ' ')}`);
      lastStatus = run.status;
      renderRun(run);
      ctx.ready();
      if (TERMINAL.has(run.status)) {
        // The timeline is complete once the run is terminal; read it once more, then stop polling.
        await readNewEvents();
        renderInsights(run);
        poller.stop();
        if (run.branch && diffLoadedFor === '') await loadDiff();
        return false;
      }
      return statusChanged || added > 0;
    },
    onError: (error) => {
      problem.hidden = error === undefined;
      problem.textContent = error === undefined ? '' : `Could not refresh the run: ${(error as Error).message}. Retrying.`;
    },
  });

  function renderRun(r: RunAnswer): void {
    const active = !TERMINAL.has(r.status);
    const cancel = active
      ? el('button', { type: 'button', class: 'danger', disabled: r.cancelRequested }, r.cancelRequested ? 'Cancelling…' : 'Cancel run')
      : null;
    cancel?.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api.cancel(runId);
        poller.poke();
      } catch (error) {
        problem.hidden = false;
        problem.textContent = `Could not cancel: ${(error as Error).message}`;
        cancel.disabled = false;
      }
    });
    replaceChildren(header, el('h1', {}, 'Run ', el('code', {}, r.runId)), statusBadge(r), cancel);
    const pr = safeHref(r.prUrl);
    const prLink = pr
      ? new URL(pr).origin === location.origin
        ? routeLink(new URL(pr).pathname, 'view the pull request')
        : el('a', { href: pr, rel: 'noopener noreferrer' }, r.prUrl ?? '')
      : '—';
    replaceChildren(
      facts,
      el(
        'dl',
        { class: 'facts-list' },
        ...fact('Repository', r.repo),
        ...fact('Requester', el('span', { title: r.requester }, shortRequester(r.requester))),
        ...fact('Source', r.source === 'github_ci' ? 'github_ci (a CI failure on its pull request started it: auto-fix)' : r.source),
        ...fact('Kind', r.kind === 'review' && r.pr !== null ? `review of pull request #${r.pr} (pushes nothing)` : r.kind),
        ...fact('Outcome', r.outcome ?? '—'),
        ...fact('Branch', r.branch ? el('code', {}, r.branch) : '—'),
        ...fact('Base', r.baseBranch ?? 'default branch'),
        ...fact('Pull request', prLink),
        ...(r.pullRequest ? fact('Pull request outcome', `${r.pullRequest.state} ${when(r.pullRequest.at)}`) : []),
        ...(r.thread ? fact('GitHub thread', el('code', {}, r.thread)) : []),
        ...(r.status === 'QUEUED' && r.queuePosition !== null ? fact('Queue position', `#${r.queuePosition}`) : []),
        ...(r.status === 'QUEUED' && r.queueReason ? fact('Waiting', r.queueReason) : []),
        ...fact('Created', el('span', { title: r.createdAt }, when(r.createdAt))),
        ...fact('Started', when(r.startedAt)),
        ...fact('Finished', when(r.finishedAt)),
        ...(r.error ? fact('Reason', `${r.error.code}: ${r.error.message}`) : []),
      ),
      el('h2', { class: 'prompt-h' }, 'Prompt'),
      el('p', { class: 'prompt' }, r.prompt),
    );
    renderInsights(r);
  }

  function renderInsights(r: RunAnswer): void {
    const tool = toolRunningNow(events, r.status);
    now.hidden = !tool && TERMINAL.has(r.status);
    now.textContent = tool
      ? `Running now: ${tool.activity ?? tool.name}${tool.turn > 0 ? ` (asked for in turn ${tool.turn})` : ''}`
      : TERMINAL.has(r.status)
        ? ''
        : r.status === 'RUNNING'
          ? 'Running now: waiting for the model'
          : `Now: ${r.status.replace(/_/g, ' ').toLowerCase()}`;

    const delta = testDelta(events);
    replaceChildren(
      tests,
      el('h2', { id: 'tests-h' }, 'Tests'),
      delta.base || delta.head
        ? el(
            'div',
            {},
            el('p', { class: 'test-delta' }, 'base ', testSide(delta.base), ' → head ', testSide(delta.head)),
            delta.newlyFailing.length > 0 ? el('div', {}, el('h3', {}, 'Newly failing'), nameList(delta.newlyFailing)) : null,
            delta.newlyPassing.length > 0 ? el('div', {}, el('h3', {}, 'Newly passing'), nameList(delta.newlyPassing)) : null,
          )
        : el('p', { class: 'muted' }, 'No test results yet.'),
    );

    const split = costSplit(events);
    const t = r.tokens;
    replaceChildren(
      cost,
      el('h2', { id: 'cost-h' }, 'Cost'),
      el(
        'p',
        {},
        `${usd(r.costUsd)} of ${usd(r.budgetUsd)} budget `,
        el('meter', { min: 0, max: r.budgetUsd, value: Math.min(r.costUsd, r.budgetUsd), 'aria-label': 'cost against budget' }),
      ),
      el(
        'dl',
        { class: 'facts-list' },
        ...fact('Model', usdFromMicros(split.modelMicros)),
        ...fact(
          'Compute',
          `${usdFromMicros(split.computeMicros)}${split.computeSeconds !== null ? ` (${split.computeSeconds.toFixed(1)} s)` : ''}`,
        ),
        ...fact('Tokens', `${t.input} in, ${t.output} out, ${t.cacheRead} cache read, ${t.cacheWrite} cache write`),
      ),
    );

    const refused = blockedHosts(events);
    replaceChildren(
      hosts,
      el('h2', { id: 'hosts-h' }, 'Blocked hosts'),
      refused.length > 0
        ? el('ul', {}, ...refused.map((h) => el('li', {}, el('code', {}, h.host), ` (${h.count} request${h.count === 1 ? '' : 's'})`)))
        : el('p', { class: 'muted' }, TERMINAL.has(r.status) ? 'The egress proxy refused nothing.' : 'Reported when the run ends.'),
    );
  }

  return () => poller.stop();
}

function fact(term: string, value: Child): HTMLElement[] {
  return [el('dt', {}, term), el('dd', {}, value)];
}

function testSide(side: TestSide | null): HTMLElement {
  if (!side) return el('span', { class: 'muted' }, 'not run');
  return el(
    'span',
    { class: side.passed ? 'pass' : 'fail' },
    side.passed ? 'passed' : 'failed',
    ` (${side.total} test${side.total === 1 ? '' : 's'}${side.failed.length > 0 ? `, ${side.failed.length} failing` : ''})`,
  );
}

function nameList(names: readonly string[]): HTMLElement {
  return el('ul', {}, ...names.map((n) => el('li', {}, el('code', {}, n))));
}

function isLong(text: string): boolean {
  return text.length > LONG_CHARS || text.split('\n').length > LONG_LINES;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  return JSON.stringify(value, null, 2);
}

/** One timeline entry; tool output and long messages are collapsed (details/summary) until opened. */
function eventItem(event: EventAnswer): HTMLLIElement {
  const detail = event.detail ?? {};
  const parts: Child[] = [];
  const long = isLong(event.message);
  const head = el(
    'span',
    { class: 'event-head' },
    el('time', { datetime: event.at }, when(event.at)),
    ' ',
    el('span', { class: `event-type type-${event.type}` }, event.type.replace(/_/g, ' ')),
    ' ',
  );
  if (long)
    parts.push(
      el(
        'details',
        { class: 'collapsed-message' },
        el('summary', {}, head, event.message.split('\n')[0]!.slice(0, 120), '…'),
        el('pre', {}, event.message),
      ),
    );
  else parts.push(el('p', { class: 'event-line' }, head, event.message));

  if (event.type === 'tool_call') {
    const input = text(detail.input ?? detail.command);
    const output = text(detail.output);
    const facts = [
      typeof detail.durationMs === 'number' ? seconds(detail.durationMs) : null,
      typeof detail.exitCode === 'number' ? `exit ${detail.exitCode}` : null,
      detail.timedOut === true ? 'timed out' : null,
    ]
      .filter(Boolean)
      .join(' · ');
    if (input !== undefined) parts.push(el('details', { class: 'tool-io' }, el('summary', {}, 'Input'), el('pre', {}, input)));
    if (output !== undefined && output !== '') {
      const summary = el('summary', {}, `Output (${output.length} characters${facts ? ` · ${facts}` : ''})`);
      parts.push(el('details', { class: 'tool-io', ...(isLong(output) ? {} : { open: true }) }, summary, el('pre', {}, output)));
    }
  }
  return el('li', { class: `event event-${event.type}`, 'data-seq': event.seq }, ...parts);
}
