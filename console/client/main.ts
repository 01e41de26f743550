import { api } from './api';
import { el, replaceChildren } from './dom';
import type { PageContext } from './page';
import { inboxPage } from './pages/inbox';
import { pullPage } from './pages/pull';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { submitPage } from './pages/submit';

/**
 * The web console (docs/console.md): a client of the API on its own origin. Routes: `/` the runs, `/runs/{id}`
 * one run, `/submit` the form, `/inbox` the inbox, `/{owner}/{name}/pull/{n}` a local pull request.
 */
const main = document.getElementById('main') as HTMLElement;
const announcer = document.getElementById('announcer') as HTMLElement;
const modeLabel = document.getElementById('mode') as HTMLElement;
const config = api.config();
config.then(
  (c) => replaceChildren(modeLabel, c.mode === 'local' ? 'local mode' : `stack: ${c.api}`),
  () => replaceChildren(modeLabel, 'configuration unavailable'),
);

let cleanup: (() => void) | undefined;

function route(): void {
  cleanup?.();
  main.replaceChildren();
  main.removeAttribute('data-ready');
  const path = location.pathname;
  const ctx: PageContext = {
    main,
    config,
    navigate,
    ready: () => {
      // The first render of this route (the bench reads the mark: time to first render).
      if (!main.hasAttribute('data-ready')) performance.mark(`nightshift:ready:${path}`);
      main.setAttribute('data-ready', path);
    },
    announce: (text) => {
      announcer.textContent = text;
    },
  };
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (link.pathname === path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const run = /^\/runs\/([^/]+)$/.exec(path);
  const pull = /^\/([^/]+)\/([^/]+)\/pull\/(\d+)$/.exec(path);
  if (path === '/') {
    document.title = 'Runs · Nightshift';
    cleanup = runsPage(ctx);
  } else if (path === '/submit') {
    document.title = 'New run · Nightshift';
    cleanup = submitPage(ctx);
  } else if (path === '/inbox') {
    document.title = 'Inbox · Nightshift';
    cleanup = inboxPage(ctx);
  } else if (run) {
    const runId = decodeURIComponent(run[1]!);
    document.title = `Run ${runId.slice(-8)} · Nightshift`;
    cleanup = runPage(ctx, runId);
  } else if (pull) {
    const repo = `${decodeURIComponent(pull[1]!)}/${decodeURIComponent(pull[2]!)}`;
    document.title = `${repo} #${pull[3]} · Nightshift`;
    cleanup = pullPage(ctx, repo, Number(pull[3]));
  } else {
    document.title = 'Not found · Nightshift';
    main.append(el('h1', {}, 'Page not found'));
    ctx.ready();
    cleanup = undefined;
  }
}

function navigate(path: string): void {
  history.pushState(null, '', path);
  route();
  main.focus();
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-route], nav a');
  if (
    !(link instanceof HTMLAnchorElement) ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  if (link.origin !== location.origin) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});
window.addEventListener('popstate', route);
route();
