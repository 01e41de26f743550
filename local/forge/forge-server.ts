import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RepoName } from '../../core/config/schema';
import { forgeCi, type ReportCiInput } from './forge-ci';
import { checkRunRoutes } from './forge-check-routes';
import { errorAnswer, type ForgeAnswer, HttpError, readBody, type RepoRoutes, writeAnswer } from './forge-http';
import { issueRoutes, reactionRoutes } from './forge-issue-routes';
import { forgeJson, type ForgeSite, userJson } from './forge-json';
import { pullRoutes } from './forge-pull-routes';
import { type ForgeCiRun, forgeBot, type ForgeUser } from './forge-records';
import { bareRepoPath } from './forge-repositories';
import { repositoryRoutes } from './forge-repository-routes';
import { tokenExchange } from './forge-token-exchange';
import { verifyForgeToken } from './forge-tokens';
import { type ForgeDelivery, type PendingDelivery, webhookSender } from './forge-webhooks';

/**
 * The local forge (docs/runner.md#local-forge): a real HTTP server on loopback speaking the subset of GitHub's REST API
 * that Nightshift uses, over bare repositories at `<root>/<owner>/<name>.git`:
 *   GET   /repos/{owner}/{repo}
 *   GET   /repos/{owner}/{repo}/branches/{branch}     (protected: from `nightshift.protectedBranch` in the bare repo's config; an alias answers its target's name)
 *   GET   /repos/{owner}/{repo}/pulls?head=owner:branch&state=open|closed|all
 *   POST  /repos/{owner}/{repo}/pulls               {title, head, base, body?, draft?}
 *   PATCH /repos/{owner}/{repo}/pulls/{number}      {title?, body?, state?}   (closing delivers pull_request.closed)
 *   PUT   /repos/{owner}/{repo}/pulls/{number}/merge (merges in the bare repository; delivers pull_request.closed, merged)
 *   GET   /repos/{owner}/{repo}/issues/{number}
 *   POST  /repos/{owner}/{repo}/issues/{number}/comments {body}
 *   POST  /repos/{owner}/{repo}/issues              {title, body?}
 *   POST  /repos/{owner}/{repo}/issues/{number}/labels {labels}
 *   GET   /repos/{owner}/{repo}/issues/{number}/comments
 *   GET   /repos/{owner}/{repo}/collaborators/{login}/permission
 *   GET   /repos/{owner}/{repo}/pulls/{number}          (`Accept: application/vnd.github.diff`: the diff base...head)
 *   GET   /repos/{owner}/{repo}/compare/{base}...{head} (`Accept: application/vnd.github.diff` only: the diff from their merge base)
 *   GET   /repos/{owner}/{repo}/contents/{path}?ref=    (`Accept: application/vnd.github.raw` only: the file's text at a branch)
 *   POST  /repos/{owner}/{repo}/pulls/{number}/reviews  {commit_id?, body?, event, comments?: [{path, line, side?, body}]}
 *         (each comment must be on a line of the diff's hunks on its side, else 422 as on GitHub)
 *   GET   /repos/{owner}/{repo}/pulls/{number}/reviews and /comments (the reviews' inline comments)
 *   POST  /repos/{owner}/{repo}/issues/{number}/reactions, /issues/comments/{id}/reactions, /pulls/comments/{id}/reactions
 *   PATCH /repos/{owner}/{repo}/issues/comments/{id} {body}   (the run's status comment, edited in place)
 *   POST  /repos/{owner}/{repo}/check-runs           {name, head_sha, external_id?, status?, conclusion?, completed_at?, output?}
 *   PATCH /repos/{owner}/{repo}/check-runs/{id}      (the same fields)
 *   GET   /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=
 *   GET   /repos/{owner}/{repo}/actions/runs/{id}/jobs, /check-suites/{id}/check-runs
 *   GET   /repos/{owner}/{repo}/actions/jobs/{id}/logs (302 to the plain-text log, as GitHub answers)
 *         (CI runs are what `reportCi` recorded: `<name>.ci.json`; it delivers check_suite and workflow_run completed)
 *   POST  /app/installations/{id}/access_tokens     (GitHub App token exchange, for the broker's app mode)
 * When a label or a comment is added, and when an issue is opened, the forge delivers a signed
 * GitHub-shaped webhook (issues.labeled, issue_comment.created, issues.opened) to the webhook URL set
 * with `setWebhook`, after answering the request, as GitHub does.
 * Reads are public (like public repositories); writes need `Authorization: token|Bearer <t>` with a
 * forge token issued for that repository. Clone URLs are file:// URLs of the bare repositories.
 * Every request is recorded (method, path, query, body, kind of auth; never the token itself).
 */
export interface ForgeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  auth: 'none' | 'token' | 'bearer';
  status: number;
}

export interface ForgeServer {
  url: string;
  root: string;
  requests: ForgeRequest[];
  deliveries: ForgeDelivery[];
  /** Where to deliver webhooks, signed with `secret` (X-Hub-Signature-256). */
  setWebhook(url: string, secret: string): void;
  /**
   * CI completed on a commit (a test or the demo says so): recorded as one Actions workflow run with its
   * check suite and jobs, and told as GitHub Actions tells it, `check_suite.completed` and
   * `workflow_run.completed` (both, by default), after the same-repository open pull requests whose head it is.
   */
  reportCi(repo: string, input: ReportCiInput): ForgeCiRun;
  /** Resolves once every delivery started so far has been answered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface ForgeOptions {
  root: string;
  port?: number;
  /** The installation id the app-token endpoint answers for (default 1). */
  installationId?: number;
  /** Where pull requests are viewed (`html_url`): the web console in local mode; the forge's own URL without it. */
  webUrl?: () => string | undefined;
}

export function startForge(options: ForgeOptions): Promise<ForgeServer> {
  const root = options.root;
  const requests: ForgeRequest[] = [];
  const webhooks = webhookSender();
  let baseUrl = '';
  const site: ForgeSite = {
    root,
    baseUrl: () => baseUrl,
    webUrl: () => options.webUrl?.() ?? baseUrl,
    installationId: options.installationId ?? 1,
  };
  const views = forgeJson(site);
  const ci = forgeCi(site, views);
  const exchangeToken = tokenExchange(site);
  // Each resource's routes answer disjoint paths, so the order they are asked in changes no answer.
  const repoRoutes: RepoRoutes[] = [
    repositoryRoutes(site),
    pullRoutes(site, views),
    issueRoutes(site, views),
    reactionRoutes,
    checkRunRoutes(site),
    ci.routes,
  ];

  const route = async (req: IncomingMessage, url: URL, body: unknown, token: string | undefined): Promise<ForgeAnswer> => {
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';

    const outsideRepos = exchangeToken(method, parts, body, token) ?? ci.logRoute(method, parts);
    if (outsideRepos) return outsideRepos;
    if (parts[0] !== 'repos' || parts.length < 3) throw new HttpError(404, 'Not Found');
    const repoParsed = RepoName.safeParse(`${parts[1]}/${parts[2]}`);
    if (!repoParsed.success) throw new HttpError(404, 'Not Found');
    const repo = repoParsed.data;
    const bare = bareRepoPath(root, repo);
    if (!existsSync(bare)) throw new HttpError(404, 'Not Found');
    const write = method !== 'GET' && method !== 'HEAD';
    let writer: ForgeUser = forgeBot;
    if (write) {
      const record = token ? verifyForgeToken(root, token) : undefined;
      if (!record) throw new HttpError(401, 'Bad credentials');
      if (record.repo !== repo.toLowerCase()) throw new HttpError(403, 'Resource not accessible by integration');
      if (record.login) writer = { login: record.login, type: 'User' };
    }
    const request = {
      method,
      accept: String(req.headers.accept ?? ''),
      url,
      body,
      repo,
      bare,
      rest: parts.slice(3),
      writer,
      sender: userJson(writer),
    };
    for (const routes of repoRoutes) {
      const answer = await routes(request);
      if (answer) return answer;
    }
    throw new HttpError(404, 'Not Found');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://forge.local');
    const header = req.headers.authorization ?? '';
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header);
    const auth: ForgeRequest['auth'] = m ? (m[1]!.toLowerCase() === 'token' ? 'token' : 'bearer') : 'none';
    let answer: ForgeAnswer;
    let body: unknown;
    try {
      body = await readBody(req);
      answer = await route(req, url, body, m?.[2]);
      // After the answer, as GitHub delivers webhooks asynchronously.
      const pending: PendingDelivery[] | undefined = answer.deliveries;
      if (pending) res.once('finish', () => pending.forEach(webhooks.deliver));
    } catch (err) {
      answer = errorAnswer(err);
    }
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      auth,
      status: answer.status,
    });
    writeAnswer(res, answer);
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      baseUrl = `http://127.0.0.1:${port}`;
      resolve({
        url: baseUrl,
        root,
        requests,
        deliveries: webhooks.deliveries,
        setWebhook: webhooks.setWebhook,
        reportCi: (repo, input) => {
          const { run, deliveries } = ci.reportCi(repo, input);
          deliveries.forEach(webhooks.deliver);
          return run;
        },
        idle: webhooks.idle,
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
