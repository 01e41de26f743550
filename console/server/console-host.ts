import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { RunId, RunView } from '../../core/runs/schemas';
import type { ConsoleConfig, PullView, RunDiff } from '../contract';
import { consoleAssets } from './console-assets';
import { sendBody, sendError, sendJson } from './console-responses';
import { guardRequest } from './request-guard';

/**
 * The console's own side of a console server: the page and its files, and three read-only answers:
 * the submit form's choices (`/_console/config`), a run's diff against its base
 * (`/_console/runs/{runId}/diff`: local mode reads the forge, a deployed stack's console asks the API's
 * `GET /v1/runs/{runId}/diff`) and a local pull request (`/_console/pulls/{owner}/{name}/{number}`).
 * A run's diff is shown only to a caller the API shows the run to: the host asks the API first, with
 * the caller's own request, so the API's authorization rules decide.
 */

export interface ConsoleDiffs {
  /** The run's branch against its base; undefined while the run has no branch. */
  runDiff(run: RunView): Promise<RunDiff | undefined>;
  /** A pull request of the local forge; undefined when there is none with that number. Absent for a deployed stack (its pull requests live on GitHub). */
  pull?(repo: string, number: number): Promise<PullView | undefined>;
}

export interface ConsoleHostOptions {
  config: () => ConsoleConfig;
  /** Calls the API as the caller of `req` would (same identity): local mode's own API, or the signed stack API. */
  callApi: (path: string, req: IncomingMessage) => Promise<{ status: number; body: string }>;
  diffs?: ConsoleDiffs;
  /** The server's port, for the Host and Origin checks. */
  port: () => number;
}

export type { ConsoleConfig, PullView, RunDiff };

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Client-side routes: each serves the page, which renders the route itself. */
const PAGE_ROUTES: readonly RegExp[] = [/^\/$/, /^\/runs\/[^/]+$/, /^\/submit$/, /^\/inbox$/, /^\/[^/_][^/]*\/[^/]+\/pull\/\d+$/];

const PullPath = z.object({ repo: RepoName, number: z.coerce.number().int().positive().max(2_147_483_647) });

export function createConsoleHost(options: ConsoleHostOptions): ConsoleHandler {
  return async (req, res) => {
    const verdict = guardRequest(req, options.port());
    if (!verdict.ok) return sendError(res, verdict.status, verdict.code, verdict.message);
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD')
      return sendError(res, 405, 'method_not_allowed', 'the console pages are read-only; changes go through /v1');
    const url = new URL(req.url ?? '/', 'http://console.local');
    const path = url.pathname;

    if (path === '/_console/config') return sendJson(res, 200, options.config());
    // Browsers ask for it on every page; the console has none, and a 404 would be noise in their consoles.
    if (path === '/favicon.ico') return sendBody(res, 204, 'image/x-icon', '');

    const runDiff = /^\/_console\/runs\/([^/]+)\/diff$/.exec(path);
    if (runDiff) return serveRunDiff(decodeSegment(runDiff[1]!), req, res);

    const pull = /^\/_console\/pulls\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (pull) {
      if (!options.diffs?.pull) return sendError(res, 404, 'not_local', 'pull requests of a deployed stack live on GitHub');
      const parsed = PullPath.safeParse({ repo: `${decodeSegment(pull[1]!)}/${decodeSegment(pull[2]!)}`, number: pull[3] });
      if (!parsed.success) return sendError(res, 404, 'pull_not_found', 'no such pull request');
      const view = await options.diffs.pull(parsed.data.repo, parsed.data.number);
      return view ? sendJson(res, 200, view) : sendError(res, 404, 'pull_not_found', 'no such pull request');
    }

    const assets = await consoleAssets();
    const file = assets.files.get(path);
    const served = file ?? (PAGE_ROUTES.some((re) => re.test(path)) ? assets.page : undefined);
    if (!served) return sendError(res, 404, 'not_found', 'no such page');
    if (req.headers['if-none-match'] === served.etag) {
      res.writeHead(304, { etag: served.etag });
      res.end();
      return;
    }
    sendBody(res, 200, served.contentType, served.body, { etag: served.etag });
  };

  async function serveRunDiff(runId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!RunId.safeParse(runId).success) return sendError(res, 404, 'run_not_found', 'no run with this id');
    const answer = await options.callApi(`/v1/runs/${encodeURIComponent(runId)}`, req);
    if (answer.status !== 200) {
      // The API's own refusal, unchanged: 404 for a run the caller may not see.
      return sendBody(res, answer.status, 'application/json; charset=utf-8', answer.body);
    }
    const run = RunView.parse(JSON.parse(answer.body));
    if (!options.diffs)
      return sendError(res, 501, 'diff_unavailable', 'this console cannot read repositories; open the pull request for the diff');
    const diff = await options.diffs.runDiff(run);
    if (!diff) return sendError(res, 404, 'no_branch', 'the run has no branch with changes yet');
    sendJson(res, 200, diff);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
