import { api, ApiProblem } from '../api';
import { diffView } from '../diff-view';
import { el, replaceChildren, routeLink } from '../dom';
import { when } from '../format';
import { renderMarkdown } from '../markdown';
import type { PageContext } from '../page';

/** A pull request of the local forge (the page local PR links open): title, body as safe text, diff. */
export function pullPage(ctx: PageContext, repo: string, number: number): () => void {
  const region = el('div', {}, el('p', { class: 'muted' }, 'Loading the pull request…'));
  ctx.main.append(region);
  let stopped = false;
  api.pull(repo, number).then(
    (pull) => {
      if (stopped) return;
      replaceChildren(
        region,
        el(
          'div',
          { class: 'page-head' },
          el('h1', {}, pull.title, ' ', el('span', { class: 'muted' }, `#${pull.number}`)),
          el('span', { class: `status status-${pull.draft ? 'draft' : pull.state}` }, pull.draft ? 'draft' : pull.state),
        ),
        el(
          'p',
          { class: 'muted' },
          repo,
          ': ',
          el('code', {}, pull.head),
          ' into ',
          el('code', {}, pull.base),
          ` · opened ${when(pull.createdAt)}`,
        ),
        el(
          'section',
          { 'aria-labelledby': 'pr-body-h', class: 'pr-body' },
          el('h2', { id: 'pr-body-h' }, 'Description'),
          renderMarkdown(pull.body),
        ),
        el('section', { 'aria-labelledby': 'pr-diff-h' }, el('h2', { id: 'pr-diff-h' }, 'Files changed'), diffView(pull.diff)),
      );
      ctx.ready();
    },
    (error: unknown) => {
      if (stopped) return;
      const notFound = error instanceof ApiProblem && error.status === 404;
      replaceChildren(
        region,
        el('h1', {}, notFound ? 'Pull request not found' : 'Could not load the pull request'),
        el(
          'p',
          {},
          notFound ? `${repo} has no pull request #${number} here. ` : `${(error as Error).message} `,
          routeLink('/', 'Back to the runs.'),
        ),
      );
      ctx.ready();
    },
  );
  return () => {
    stopped = true;
  };
}
