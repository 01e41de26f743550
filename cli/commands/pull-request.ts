import type { Command } from 'commander';
import * as z from 'zod';
import type { RunView } from '../../core/runs/schemas';
import type { ApiClient } from '../api-client';

/**
 * `nightshift pr <runId>`: the pull request a run opened, and its diff, read from where it lives:
 * GitHub (or GitHub Enterprise Server) through its REST API, or the local forge in local mode (which
 * speaks the same API). The diff is GitHub's own (`Accept: application/vnd.github.diff`).
 */

export interface PullRequestLocation {
  owner: string;
  repo: string;
  number: number;
  /** The origin of the PR's web URL (`https://github.com`, or local mode's console). */
  origin: string;
}

/** `https://github.com/acme/web/pull/12` (or local mode's `http://127.0.0.1:8787/acme/web/pull/12`) → its parts. */
export function pullRequestLocation(prUrl: string): PullRequestLocation {
  const url = URL.canParse(prUrl) ? new URL(prUrl) : undefined;
  const m = url ? /^\/([A-Za-z0-9][A-Za-z0-9-]{0,38})\/([A-Za-z0-9._-]{1,100})\/pull\/(\d{1,10})\/?$/.exec(url.pathname) : null;
  if (!url || !m) throw new Error(`the run's pull request link ${JSON.stringify(prUrl.slice(0, 200))} is not a pull request URL`);
  return { owner: m[1]!, repo: m[2]!, number: Number(m[3]), origin: url.origin };
}

/** Loopback: `localhost`, `[::1]` and all of 127.0.0.0/8 (127.0.0.2 is this machine as much as 127.0.0.1). */
const loopback = (url: URL) =>
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname) || url.hostname === 'localhost' || url.hostname === '[::1]';

/**
 * The REST API root that serves the pull request: NIGHTSHIFT_GITHUB_API when set, api.github.com for
 * github.com, the local forge for a link into local mode's console, else GitHub Enterprise Server's `/api/v3`.
 */
export function githubApiRootFor(
  location: PullRequestLocation,
  context: { apiOrigin: string; localForge: () => Promise<string | undefined>; env: NodeJS.ProcessEnv },
): Promise<string> | string {
  if (context.env.NIGHTSHIFT_GITHUB_API) return context.env.NIGHTSHIFT_GITHUB_API.replace(/\/+$/, '');
  const host = new URL(location.origin).hostname;
  if (host === 'github.com' || host === 'www.github.com') return 'https://api.github.com';
  if (location.origin === context.apiOrigin || loopback(new URL(location.origin))) {
    return context.localForge().then((forge) => {
      if (!forge)
        throw new Error(
          `the pull request ${location.owner}/${location.repo}#${location.number} is in a local forge, and ${context.apiOrigin} does not say where it is (is it local mode?)`,
        );
      return forge;
    });
  }
  return `${location.origin}/api/v3`;
}

const GithubPull = z.object({
  number: z.number().int(),
  title: z.string(),
  body: z.string().nullable(),
  state: z.string(),
  draft: z.boolean().optional(),
  html_url: z.string(),
  head: z.object({ ref: z.string() }),
  base: z.object({ ref: z.string() }),
});

/** Untrusted text (model-written title, body and diff) for a terminal: no control sequences, tabs and newlines kept. */
export function terminalText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from untrusted text is the point
  return text.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, '');
}

export interface PullRequestCommandContext {
  client: () => Promise<ApiClient>;
  out: (text: string) => void;
  json: () => boolean;
  done: (exitCode: number) => void;
  env?: NodeJS.ProcessEnv;
}

export async function showPullRequest(
  run: RunView,
  context: { apiOrigin: string; localForge: () => Promise<string | undefined>; env: NodeJS.ProcessEnv },
) {
  if (!run.prUrl)
    throw new Error(
      `run ${run.runId} has no pull request (${run.status}${run.outcome ? `, outcome ${run.outcome}` : ''}${run.error ? `, ${run.error.code}` : ''})`,
    );
  const location = pullRequestLocation(run.prUrl);
  const root = await githubApiRootFor(location, context);
  const rootUrl = new URL(root);
  // A token for GitHub (private repositories, rate limits); never sent to loopback.
  const token = loopback(rootUrl) ? undefined : (context.env.GITHUB_TOKEN ?? context.env.GH_TOKEN);
  const path = `${root}/repos/${location.owner}/${location.repo}/pulls/${location.number}`;
  const get = async (accept: string) => {
    let response: Response;
    try {
      response = await fetch(path, {
        headers: {
          accept,
          'user-agent': 'nightshift-cli',
          'x-github-api-version': '2022-11-28',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(`cannot reach ${rootUrl.origin} for the pull request: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      const hint =
        (response.status === 404 || response.status === 401) && !token && !loopback(rootUrl)
          ? ' (a private repository needs GITHUB_TOKEN or GH_TOKEN)'
          : '';
      throw new Error(`GET ${path} answered HTTP ${response.status}${hint}`);
    }
    return text;
  };
  const pull = GithubPull.parse(JSON.parse(await get('application/vnd.github+json')));
  const diff = await get('application/vnd.github.diff');
  return { location, pull, diff };
}

export function registerPullRequestCommand(program: Command, context: PullRequestCommandContext): void {
  program
    .command('pr')
    .description('show the pull request a run opened, and its diff (GitHub, or the local forge in local mode)')
    .argument('<runId>')
    .action(async (runId: string) => {
      const client = await context.client();
      const run = await client.getRun(runId);
      const env = context.env ?? process.env;
      const { pull, diff } = await showPullRequest(run, {
        apiOrigin: client.baseUrl.origin,
        localForge: () => client.localForgeUrl(),
        env,
      });
      if (context.json()) {
        context.out(
          JSON.stringify({
            runId: run.runId,
            pullRequest: {
              number: pull.number,
              title: pull.title,
              state: pull.state,
              draft: pull.draft ?? false,
              base: pull.base.ref,
              head: pull.head.ref,
              url: run.prUrl,
              body: pull.body ?? '',
            },
            diff,
          }),
        );
      } else {
        context.out(`#${pull.number} ${terminalText(pull.title)} (${pull.draft ? 'draft, ' : ''}${pull.state})`);
        context.out(`${terminalText(pull.head.ref)} → ${terminalText(pull.base.ref)} · ${run.prUrl}`);
        if (pull.body?.trim()) context.out(`\n${terminalText(pull.body.trim())}`);
        context.out(`\n--- diff ${terminalText(pull.base.ref)}...${terminalText(pull.head.ref)} ---`);
        context.out(terminalText(diff.trimEnd()) || '(no changes)');
      }
      context.done(0);
    });
}
