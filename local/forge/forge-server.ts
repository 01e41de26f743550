import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { issueForgeToken, verifyForgeToken } from './forge-tokens';
import { sign } from '@octokit/webhooks-methods';
import {
  addComment,
  addLabels,
  addPullLabels,
  addReview,
  createIssue,
  forgeBot,
  getPull,
  listCheckRuns,
  listComments,
  listIssues,
  listPulls,
  listReviews,
  permissionOf,
  saveCheckRun,
  savePull,
  updateComment,
  listCiRuns,
  saveCiRun,
  type ForgeCiJob,
  type ForgeCiRun,
  type ForgeCheckRun,
  type ForgeIssue,
  type ForgePull,
  type ForgeReview,
  type ForgeUser,
} from './forge-records';
import { commentableLines } from '../../core/review/review-anchoring';
import {
  bareRepoPath,
  branchAliasTarget,
  branchHead,
  commitExists,
  defaultBranchOf,
  fileAt,
  mergeBranch,
  MergeConflictError,
  protectedBranchesOf,
} from './forge-repositories';

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

/** One webhook delivery the forge made (for tests and the demo). */
export interface ForgeDelivery {
  event: string;
  action: string;
  deliveryId: string;
  /** The platform's answer, or 0 when it could not be reached. */
  status: number;
  answer: string;
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

export interface ReportCiInput {
  headSha: string;
  headBranch: string;
  /** The workflow's name (default `CI`). */
  name?: string;
  jobs: Omit<ForgeCiJob, 'id'>[];
  /** Which events to deliver (default both, as GitHub Actions does). */
  events?: ('check_suite' | 'workflow_run')[];
}

export interface ForgeOptions {
  root: string;
  port?: number;
  /** The installation id the app-token endpoint answers for (default 1). */
  installationId?: number;
  /** Where pull requests are viewed (`html_url`): the web console in local mode; the forge's own URL without it. */
  webUrl?: () => string | undefined;
}

const execFileAsync = promisify(execFile);

/** A pull request's diff as GitHub computes it: from the merge base of base and head to head. */
async function pullDiff(bare: string, pull: Pick<ForgePull, 'base' | 'head'>): Promise<string> {
  const { stdout } = await execFileAsync(
    'git',
    [
      '--git-dir',
      bare,
      'diff',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '-M',
      `refs/heads/${pull.base}...refs/heads/${pull.head}`,
      '--',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
  }
}

const MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'Problems parsing JSON'));
      }
    });
    req.on('error', reject);
  });
}

const CreatePull = z.object({
  title: z.string().min(1),
  head: z.string().min(1),
  base: z.string().min(1),
  body: z.string().optional(),
  draft: z.boolean().optional(),
  maintainer_can_modify: z.boolean().optional(),
});
const UpdatePull = z.object({
  title: z.string().min(1).optional(),
  body: z.string().optional(),
  state: z.enum(['open', 'closed']).optional(),
  base: z.string().optional(),
});
const CreateComment = z.object({ body: z.string().min(1) });
const CreateIssue = z.object({ title: z.string().min(1).max(256), body: z.string().max(65_536).optional() });
const AddLabels = z.object({ labels: z.array(z.string().min(1).max(50)).min(1).max(100) });
const UpdateComment = z.object({ body: z.string().min(1).max(65_536) });
const CheckRunOutput = z.object({ title: z.string().max(1_000), summary: z.string().max(65_535), text: z.string().max(65_535).optional() });
const CheckRunFields = {
  name: z.string().min(1).max(200),
  external_id: z.string().max(200).optional(),
  status: z.enum(['queued', 'in_progress', 'completed']).optional(),
  conclusion: z.enum(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']).optional(),
  completed_at: z.string().optional(),
  output: CheckRunOutput.optional(),
};
const CreateCheckRun = z.object({ ...CheckRunFields, head_sha: z.string().regex(/^[0-9a-f]{40}$/, 'must be a commit sha') });
const UpdateCheckRun = z.object(CheckRunFields).partial();
const CreateReview = z
  .object({
    commit_id: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'must be a commit sha')
      .optional(),
    body: z.string().max(65_536).optional(),
    event: z.enum(['APPROVE', 'REQUEST_CHANGES', 'COMMENT']),
    comments: z
      .array(
        z
          .object({
            path: z.string().min(1),
            line: z.number().int().positive(),
            side: z.enum(['LEFT', 'RIGHT']).optional(),
            body: z.string().min(1).max(65_536),
          })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict();
const reviewStates = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;
const CreateReaction = z.object({ content: z.enum(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']) });

interface PendingDelivery {
  event: string;
  payload: Record<string, unknown> & { action: string };
}
const AccessTokenRequest = z.object({
  repositories: z.array(z.string()).optional(),
  repository_ids: z.array(z.number()).optional(),
  permissions: z.record(z.string(), z.string()).optional(),
});

export function startForge(options: ForgeOptions): Promise<ForgeServer> {
  const root = options.root;
  const requests: ForgeRequest[] = [];
  const deliveries: ForgeDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  let webhook: { url: string; secret: string } | undefined;
  let baseUrl = '';

  const userJson = (u: ForgeUser) => ({ login: u.login, type: u.type, id: 0 });
  const repoJson = (repo: string) => {
    const [owner, name] = repo.split('/') as [string, string];
    return { id: 1, name, full_name: repo, owner: { login: owner }, private: false, html_url: `${baseUrl}/${repo}` };
  };
  const issueJson = (repo: string, issue: ForgeIssue) => ({
    id: issue.number,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    labels: issue.labels.map((name) => ({ name })),
    user: userJson(issue.user),
    html_url: `${baseUrl}/${repo}/issues/${issue.number}`,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt ?? issue.createdAt,
  });
  /** A pull request seen through the issues API, as GitHub shows it. */
  const pullAsIssueJson = (repo: string, p: ForgePull) => ({
    id: p.number,
    number: p.number,
    title: p.title,
    body: p.body,
    state: p.state,
    labels: (p.labels ?? []).map((name) => ({ name })),
    user: userJson(forgeBot),
    html_url: `${baseUrl}/${repo}/pull/${p.number}`,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    pull_request: { url: `${baseUrl}/repos/${repo}/pulls/${p.number}` },
  });

  const deliver = (pending: PendingDelivery) => {
    const target = webhook;
    if (!target) return;
    const deliveryId = randomUUID();
    const body = JSON.stringify(pending.payload);
    const run = (async () => {
      let status = 0;
      let answer = '';
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/nightshift-forge',
            'x-github-event': pending.event,
            'x-github-delivery': deliveryId,
            'x-hub-signature-256': await sign(target.secret, body),
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        answer = (await response.text()).slice(0, 2_000);
      } catch (err) {
        answer = (err as Error).message;
      }
      deliveries.push({ event: pending.event, action: pending.payload.action, deliveryId, status, answer });
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  const pullJson = (repo: string, p: ForgePull) => {
    const [owner] = repo.split('/') as [string];
    return {
      id: p.number,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      html_url: `${options.webUrl?.() ?? baseUrl}/${repo}/pull/${p.number}`,
      url: `${baseUrl}/repos/${repo}/pulls/${p.number}`,
      head: {
        ref: p.head,
        label: `${(p.headRepo ?? repo).split('/')[0]}:${p.head}`,
        sha: branchHead(bareRepoPath(root, repo), p.head) ?? null,
        repo: repoJson(p.headRepo ?? repo),
      },
      base: { ref: p.base, label: `${owner}:${p.base}`, repo: repoJson(repo) },
      labels: (p.labels ?? []).map((name) => ({ name })),
      user: userJson(forgeBot),
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt ?? null,
      merged: Boolean(p.mergedAt),
      merged_at: p.mergedAt ?? null,
    };
  };
  const reviewJson = (repo: string, number: number, r: ForgeReview) => ({
    id: r.id,
    user: userJson(r.user),
    body: r.body,
    state: r.state,
    commit_id: r.commitId,
    submitted_at: r.submittedAt,
    html_url: `${options.webUrl?.() ?? baseUrl}/${repo}/pull/${number}#pullrequestreview-${r.id}`,
  });
  const reviewCommentJson = (repo: string, number: number, r: ForgeReview, c: ForgeReview['comments'][number]) => ({
    id: c.id,
    pull_request_review_id: r.id,
    path: c.path,
    line: c.line,
    side: c.side,
    body: c.body,
    commit_id: r.commitId,
    user: userJson(r.user),
    created_at: r.submittedAt,
    updated_at: r.submittedAt,
    html_url: `${options.webUrl?.() ?? baseUrl}/${repo}/pull/${number}#discussion_r${c.id}`,
  });
  /** GitHub's `pull_request.closed`, merged or not, after a close or a merge through the API. */
  const closedDelivery = (repo: string, p: ForgePull, sender: ReturnType<typeof userJson>): PendingDelivery => ({
    event: 'pull_request',
    payload: { action: 'closed', number: p.number, pull_request: pullJson(repo, p), repository: repoJson(repo), sender },
  });

  const checkRunRecord = (
    input: Partial<z.infer<typeof CreateCheckRun>> & { name: string },
    headSha: string,
    existing?: ForgeCheckRun,
  ): Omit<ForgeCheckRun, 'id'> => ({
    name: input.name,
    headSha,
    externalId: input.external_id ?? existing?.externalId ?? null,
    status: input.status ?? (input.conclusion ? 'completed' : (existing?.status ?? 'queued')),
    conclusion: input.conclusion ?? existing?.conclusion ?? null,
    title: input.output?.title ?? existing?.title ?? null,
    summary: input.output?.summary ?? existing?.summary ?? null,
    completedAt: input.completed_at ?? existing?.completedAt ?? null,
  });
  const checkRunJson = (repo: string, c: ForgeCheckRun) => ({
    id: c.id,
    name: c.name,
    head_sha: c.headSha,
    external_id: c.externalId,
    status: c.status,
    conclusion: c.conclusion,
    completed_at: c.completedAt,
    output: { title: c.title, summary: c.summary },
    html_url: `${baseUrl}/${repo}/runs/${c.id}`,
  });

  const ciJobJson = (repo: string, run: ForgeCiRun, j: ForgeCiJob) => ({
    id: j.id,
    run_id: run.workflowRunId,
    name: j.name,
    head_sha: run.headSha,
    head_branch: run.headBranch,
    status: 'completed',
    conclusion: j.conclusion,
    workflow_name: run.name,
    steps: j.steps.map((step, i) => ({ name: step.name, status: 'completed', conclusion: step.conclusion, number: i + 1 })),
    html_url: `${baseUrl}/${repo}/actions/runs/${run.workflowRunId}/job/${j.id}`,
    check_run_url: `${baseUrl}/repos/${repo}/check-runs/${j.id}`,
  });
  // An Actions job is also a check run of its check suite, with the same id.
  const ciCheckRunJson = (repo: string, run: ForgeCiRun, j: ForgeCiJob) => ({
    id: j.id,
    name: j.name,
    head_sha: run.headSha,
    status: 'completed',
    conclusion: j.conclusion,
    output: { title: null, summary: null, text: null },
    check_suite: { id: run.checkSuiteId },
    app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
    html_url: `${baseUrl}/${repo}/actions/runs/${run.workflowRunId}/job/${j.id}`,
  });
  const actionsBot = { login: 'github-actions[bot]', type: 'Bot', id: 41898282 };
  /** The same-repository open pull requests whose head is the commit, as GitHub lists them in CI events (forks' left out). */
  const ciPulls = (repo: string, run: ForgeCiRun) =>
    listPulls(root, repo)
      .filter(
        (p) =>
          p.state === 'open' &&
          p.headRepo === undefined &&
          p.head === run.headBranch &&
          branchHead(bareRepoPath(root, repo), p.head) === run.headSha,
      )
      .map((p) => ({
        url: `${baseUrl}/repos/${repo}/pulls/${p.number}`,
        id: p.number,
        number: p.number,
        head: { ref: p.head, sha: run.headSha, repo: { id: 1, url: `${baseUrl}/repos/${repo}`, name: repo.split('/')[1] } },
        base: {
          ref: p.base,
          sha: branchHead(bareRepoPath(root, repo), p.base) ?? '',
          repo: { id: 1, url: `${baseUrl}/repos/${repo}`, name: repo.split('/')[1] },
        },
      }));
  const ciDeliveries = (repo: string, run: ForgeCiRun, events: readonly ('check_suite' | 'workflow_run')[]): PendingDelivery[] => {
    const pull_requests = ciPulls(repo, run);
    const head_commit = { id: run.headSha, message: 'commit', timestamp: run.createdAt };
    const out: PendingDelivery[] = [];
    if (events.includes('check_suite')) {
      out.push({
        event: 'check_suite',
        payload: {
          action: 'completed',
          check_suite: {
            id: run.checkSuiteId,
            head_branch: run.headBranch,
            head_sha: run.headSha,
            status: 'completed',
            conclusion: run.conclusion,
            url: `${baseUrl}/repos/${repo}/check-suites/${run.checkSuiteId}`,
            pull_requests,
            app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
            created_at: run.createdAt,
            updated_at: run.createdAt,
            latest_check_runs_count: run.jobs.length,
            check_runs_url: `${baseUrl}/repos/${repo}/check-suites/${run.checkSuiteId}/check-runs`,
            head_commit,
          },
          repository: repoJson(repo),
          sender: actionsBot,
        },
      });
    }
    if (events.includes('workflow_run')) {
      out.push({
        event: 'workflow_run',
        payload: {
          action: 'completed',
          workflow_run: {
            id: run.workflowRunId,
            name: run.name,
            check_suite_id: run.checkSuiteId,
            head_branch: run.headBranch,
            head_sha: run.headSha,
            event: 'pull_request',
            status: 'completed',
            conclusion: run.conclusion,
            pull_requests,
            created_at: run.createdAt,
            updated_at: run.createdAt,
            jobs_url: `${baseUrl}/repos/${repo}/actions/runs/${run.workflowRunId}/jobs`,
            logs_url: `${baseUrl}/repos/${repo}/actions/runs/${run.workflowRunId}/logs`,
            head_commit,
            head_repository: repoJson(repo),
            repository: repoJson(repo),
          },
          workflow: { id: 1, name: run.name, path: '.github/workflows/ci.yml' },
          repository: repoJson(repo),
          sender: actionsBot,
        },
      });
    }
    return out;
  };

  const route = async (
    req: IncomingMessage,
    url: URL,
    body: unknown,
    token: string | undefined,
  ): Promise<{
    status: number;
    json: unknown;
    diff?: string;
    text?: string;
    location?: string;
    raw?: string;
    deliveries?: PendingDelivery[];
  }> => {
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (parts[0] === 'app' && parts[1] === 'installations' && parts[3] === 'access_tokens' && method === 'POST') {
      if (!token) throw new HttpError(401, 'A JSON web token could not be decoded');
      if (Number(parts[2]) !== (options.installationId ?? 1)) throw new HttpError(404, 'Not Found');
      const input = AccessTokenRequest.parse(body ?? {});
      const names = input.repositories ?? [];
      if (names.length !== 1) throw new HttpError(422, 'the local forge issues tokens for exactly one repository');
      const owner = existingOwnerOf(names[0]!);
      const { token: issued, expiresAt } = issueForgeToken(root, `${owner}/${names[0]}`, null);
      return {
        status: 201,
        json: {
          token: issued,
          expires_at: expiresAt,
          permissions: input.permissions ?? {},
          repository_selection: 'selected',
          repositories: [{ name: names[0], full_name: `${owner}/${names[0]}` }],
        },
      };
    }

    // Where a job's log redirects to (GitHub: a short-lived download URL on another host).
    if (parts[0] === '_logs' && parts.length === 4 && method === 'GET') {
      const job = listCiRuns(root, `${parts[1]}/${parts[2]}`)
        .flatMap((r) => r.jobs)
        .find((j) => j.id === Number(parts[3]));
      if (!job) throw new HttpError(404, 'Not Found');
      return { status: 200, json: undefined, text: job.log };
    }
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
    const sender = userJson(writer);
    const rest = parts.slice(3);

    if (rest.length === 0 && method === 'GET') {
      const [owner, name] = repo.split('/') as [string, string];
      return {
        status: 200,
        json: {
          id: 1,
          name,
          full_name: repo,
          owner: { login: owner },
          private: false,
          default_branch: defaultBranchOf(bare),
          clone_url: pathToFileURL(bare).href,
          html_url: `${baseUrl}/${repo}`,
        },
      };
    }
    if (rest[0] === 'branches' && rest.length >= 2 && method === 'GET') {
      const asked = rest.slice(1).join('/');
      const sha = branchHead(bare, asked);
      if (!sha) throw new HttpError(404, 'Branch not found');
      // An alias answers as the branch it points at, as GitHub answers a renamed branch's old name.
      const name = branchAliasTarget(bare, asked) ?? asked;
      return { status: 200, json: { name, commit: { sha }, protected: protectedBranchesOf(bare).includes(name) } };
    }
    // GitHub's compare of two branches (`base...head`, from their merge base), answered as a diff only.
    if (rest[0] === 'compare' && rest.length >= 2 && method === 'GET') {
      const m = /^(.+?)\.\.\.(.+)$/.exec(rest.slice(1).join('/'));
      if (!m || !branchHead(bare, m[1]!) || !branchHead(bare, m[2]!)) throw new HttpError(404, 'Not Found');
      if (!/application\/vnd\.github(\.v3)?\.diff/.test(String(req.headers.accept ?? '')))
        throw new HttpError(415, 'the local forge answers a compare as a diff only (Accept: application/vnd.github.diff)');
      return { status: 200, json: undefined, diff: await pullDiff(bare, { base: m[1]!, head: m[2]! }) };
    }
    // A file at a ref, raw (`Accept: application/vnd.github.raw`), as the contents API answers it.
    if (rest[0] === 'contents' && rest.length >= 2 && method === 'GET') {
      if (!/application\/vnd\.github(\.v3)?\.raw/.test(String(req.headers.accept ?? '')))
        throw new HttpError(415, 'the local forge answers contents raw only (Accept: application/vnd.github.raw)');
      const ref = url.searchParams.get('ref') ?? defaultBranchOf(bare);
      if (!branchHead(bare, ref)) throw new HttpError(404, 'Not Found');
      try {
        return { status: 200, json: undefined, raw: fileAt(bare, `refs/heads/${ref}`, rest.slice(1).join('/')) };
      } catch {
        throw new HttpError(404, 'Not Found');
      }
    }
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const base = url.searchParams.get('base');
      const pulls = listPulls(root, repo).filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (!head || `${repo.split('/')[0]}:${p.head}`.toLowerCase() === head.toLowerCase()) &&
          (!base || p.base === base),
      );
      return { status: 200, json: pulls.map((p) => pullJson(repo, p)) };
    }
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'POST') {
      const input = CreatePull.parse(body);
      const headBranch = input.head.includes(':') ? input.head.split(':')[1]! : input.head;
      if (!branchHead(bare, headBranch))
        throw new HttpError(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      if (!branchHead(bare, input.base))
        throw new HttpError(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      if (listPulls(root, repo).some((p) => p.state === 'open' && p.head === headBranch)) {
        throw new HttpError(422, 'Validation Failed', [
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${headBranch}.` },
        ]);
      }
      const now = new Date().toISOString();
      const pull = savePull(root, repo, {
        title: input.title,
        body: input.body ?? '',
        head: headBranch,
        base: input.base,
        draft: input.draft ?? false,
        state: 'open',
        createdAt: now,
        updatedAt: now,
      });
      return { status: 201, json: pullJson(repo, pull) };
    }
    if (rest[0] === 'pulls' && rest.length === 2 && (method === 'PATCH' || method === 'GET')) {
      const existing = getPull(root, repo, Number(rest[1]));
      if (!existing) throw new HttpError(404, 'Not Found');
      // `Accept: application/vnd.github.diff` asks for the pull request as a diff, as GitHub answers it.
      if (method === 'GET' && /application\/vnd\.github(\.v3)?\.diff/.test(String(req.headers.accept ?? '')))
        return { status: 200, json: undefined, diff: await pullDiff(bare, existing) };
      if (method === 'GET') return { status: 200, json: pullJson(repo, existing) };
      const input = UpdatePull.parse(body ?? {});
      const now = new Date().toISOString();
      const closing = existing.state === 'open' && input.state === 'closed';
      const updated = savePull(root, repo, {
        ...existing,
        ...input,
        updatedAt: now,
        ...(closing ? { closedAt: now } : {}),
        ...(input.state === 'open' ? { closedAt: null } : {}),
      });
      return { status: 200, json: pullJson(repo, updated), ...(closing ? { deliveries: [closedDelivery(repo, updated, sender)] } : {}) };
    }
    if (rest[0] === 'pulls' && rest[2] === 'merge' && rest.length === 3 && method === 'PUT') {
      const existing = getPull(root, repo, Number(rest[1]));
      if (!existing) throw new HttpError(404, 'Not Found');
      if (existing.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable');
      // As on GitHub, merging takes write access; the platform's own tokens never merge (docs/security.md).
      if (writer.type === 'Bot' || !['admin', 'maintain', 'write'].includes(permissionOf(root, repo, writer.login)))
        throw new HttpError(403, 'Resource not accessible by integration');
      let sha: string;
      try {
        sha = mergeBranch(bare, existing.base, existing.head, `Merge pull request #${existing.number} from ${existing.head}`);
      } catch (err) {
        if (err instanceof MergeConflictError) throw new HttpError(405, 'Pull Request is not mergeable');
        throw err;
      }
      const now = new Date().toISOString();
      const merged = savePull(root, repo, { ...existing, state: 'closed', updatedAt: now, closedAt: now, mergedAt: now });
      return {
        status: 200,
        json: { sha, merged: true, message: 'Pull Request successfully merged' },
        deliveries: [closedDelivery(repo, merged, sender)],
      };
    }
    if (rest[0] === 'issues' && rest.length === 2 && method === 'GET') {
      const issue = listIssues(root, repo).find((i) => i.number === Number(rest[1]));
      if (issue) return { status: 200, json: issueJson(repo, issue) };
      const pull = getPull(root, repo, Number(rest[1]));
      if (!pull) throw new HttpError(404, 'Not Found');
      return { status: 200, json: pullAsIssueJson(repo, pull) };
    }
    if (rest[0] === 'issues' && rest.length === 1 && method === 'POST') {
      const input = CreateIssue.parse(body);
      const issue = createIssue(root, repo, { title: input.title, body: input.body ?? '', user: writer });
      return {
        status: 201,
        json: issueJson(repo, issue),
        deliveries: [{ event: 'issues', payload: { action: 'opened', issue: issueJson(repo, issue), repository: repoJson(repo), sender } }],
      };
    }
    if (rest[0] === 'issues' && rest[2] === 'labels' && rest.length === 3 && method === 'POST') {
      const input = AddLabels.parse(body);
      const result = addLabels(root, repo, Number(rest[1]), input.labels);
      if (!result) {
        // A pull request is labelled through the issues API too, and GitHub tells of it as pull_request.labeled.
        const labelled = addPullLabels(root, repo, Number(rest[1]), input.labels);
        if (!labelled) throw new HttpError(404, 'Not Found');
        const pull_request = pullJson(repo, labelled.pull);
        return {
          status: 200,
          json: pull_request.labels,
          deliveries: labelled.added.map((name) => ({
            event: 'pull_request',
            payload: { action: 'labeled', number: labelled.pull.number, label: { name }, pull_request, repository: repoJson(repo), sender },
          })),
        };
      }
      const issue = issueJson(repo, result.issue);
      return {
        status: 200,
        json: issue.labels,
        deliveries: result.added.map((name) => ({
          event: 'issues',
          payload: { action: 'labeled', label: { name }, issue, repository: repoJson(repo), sender },
        })),
      };
    }
    if (rest[0] === 'issues' && rest[2] === 'comments' && rest.length === 3 && method === 'GET') {
      const number = Number(rest[1]);
      return {
        status: 200,
        json: listComments(root, repo, number).map((c) => ({
          id: c.id,
          body: c.body,
          user: userJson(c.user),
          created_at: c.createdAt,
          updated_at: c.createdAt,
          html_url: `${baseUrl}/${repo}/issues/${number}#issuecomment-${c.id}`,
        })),
      };
    }
    if (rest[0] === 'collaborators' && rest[2] === 'permission' && rest.length === 3 && method === 'GET') {
      const permission = permissionOf(root, repo, rest[1]!);
      const legacy = permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      return { status: 200, json: { permission: legacy, role_name: permission, user: { login: rest[1], type: 'User' } } };
    }
    if (rest[0] === 'pulls' && rest.length === 3 && (rest[2] === 'comments' || rest[2] === 'reviews') && method === 'GET') {
      const number = Number(rest[1]);
      if (!getPull(root, repo, number)) throw new HttpError(404, 'Not Found');
      const reviews = listReviews(root, repo, number);
      if (rest[2] === 'reviews') return { status: 200, json: reviews.map((r) => reviewJson(repo, number, r)) };
      return { status: 200, json: reviews.flatMap((r) => r.comments.map((c) => reviewCommentJson(repo, number, r, c))) };
    }
    if (rest[0] === 'pulls' && rest.length === 3 && rest[2] === 'reviews' && method === 'POST') {
      const number = Number(rest[1]);
      const pull = getPull(root, repo, number);
      if (!pull) throw new HttpError(404, 'Not Found');
      const input = CreateReview.parse(body);
      const commitId = input.commit_id ?? branchHead(bare, pull.head);
      if (!commitId || !commitExists(bare, commitId))
        throw new HttpError(422, 'Unprocessable Entity', ['commit_id is not part of the pull request']);
      // As on GitHub: a comment must sit on a line of the diff's hunks, on its side.
      const lines = commentableLines(await pullDiff(bare, pull));
      const comments = (input.comments ?? []).map((c) => ({
        path: c.path,
        line: c.line,
        side: c.side ?? ('RIGHT' as const),
        body: c.body,
      }));
      for (const c of comments) {
        if (!lines.get(c.path)?.[c.side].has(c.line))
          throw new HttpError(422, 'Unprocessable Entity', [
            `Line could not be resolved: ${c.path} line ${c.line} (${c.side}) is not in the diff`,
          ]);
      }
      if (input.event !== 'APPROVE' && (input.body ?? '') === '' && comments.length === 0)
        throw new HttpError(422, 'Unprocessable Entity', [`Review body is required for ${input.event}`]);
      const review = addReview(root, repo, number, {
        user: writer,
        body: input.body ?? '',
        state: reviewStates[input.event],
        commitId,
        submittedAt: new Date().toISOString(),
        comments,
      });
      return { status: 200, json: reviewJson(repo, number, review) };
    }
    if (rest.at(-1) === 'reactions' && method === 'POST' && (rest[0] === 'issues' || rest[0] === 'pulls')) {
      const input = CreateReaction.parse(body);
      return { status: 201, json: { id: 1, content: input.content, user: sender } };
    }
    if (rest[0] === 'issues' && rest[1] === 'comments' && rest.length === 3 && method === 'PATCH') {
      const edited = updateComment(root, repo, Number(rest[2]), UpdateComment.parse(body).body);
      if (!edited) throw new HttpError(404, 'Not Found');
      const c = edited.comment;
      return {
        status: 200,
        json: {
          id: c.id,
          body: c.body,
          user: userJson(c.user),
          created_at: c.createdAt,
          updated_at: new Date().toISOString(),
          html_url: `${baseUrl}/${repo}/issues/${edited.number}#issuecomment-${c.id}`,
        },
      };
    }
    if (rest[0] === 'check-runs' && rest.length === 1 && method === 'POST') {
      const input = CreateCheckRun.parse(body);
      if (!commitExists(bare, input.head_sha))
        throw new HttpError(422, 'Validation Failed', [{ resource: 'CheckRun', field: 'head_sha', code: 'invalid' }]);
      const run = saveCheckRun(root, repo, checkRunRecord(input, input.head_sha));
      return { status: 201, json: checkRunJson(repo, run) };
    }
    if (rest[0] === 'check-runs' && rest.length === 2 && method === 'PATCH') {
      const existing = listCheckRuns(root, repo).find((c) => c.id === Number(rest[1]));
      if (!existing) throw new HttpError(404, 'Not Found');
      const input = UpdateCheckRun.parse(body ?? {});
      return {
        status: 200,
        json: checkRunJson(
          repo,
          saveCheckRun(root, repo, {
            ...checkRunRecord({ ...input, name: input.name ?? existing.name }, existing.headSha, existing),
            id: existing.id,
          }),
        ),
      };
    }
    if (rest[0] === 'commits' && rest.at(-1) === 'check-runs' && rest.length >= 3 && method === 'GET') {
      const ref = rest.slice(1, -1).join('/');
      const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : branchHead(bare, ref);
      const name = url.searchParams.get('check_name');
      const runs = listCheckRuns(root, repo).filter((c) => c.headSha === sha && (!name || c.name === name));
      return { status: 200, json: { total_count: runs.length, check_runs: runs.map((c) => checkRunJson(repo, c)) } };
    }
    if (rest[0] === 'actions' && rest[1] === 'runs' && rest[3] === 'jobs' && rest.length === 4 && method === 'GET') {
      const run = listCiRuns(root, repo).find((r) => r.workflowRunId === Number(rest[2]));
      if (!run) throw new HttpError(404, 'Not Found');
      return { status: 200, json: { total_count: run.jobs.length, jobs: run.jobs.map((j) => ciJobJson(repo, run, j)) } };
    }
    if (rest[0] === 'check-suites' && rest[2] === 'check-runs' && rest.length === 3 && method === 'GET') {
      const run = listCiRuns(root, repo).find((r) => r.checkSuiteId === Number(rest[1]));
      if (!run) throw new HttpError(404, 'Not Found');
      return { status: 200, json: { total_count: run.jobs.length, check_runs: run.jobs.map((j) => ciCheckRunJson(repo, run, j)) } };
    }
    if (rest[0] === 'actions' && rest[1] === 'jobs' && rest[3] === 'logs' && rest.length === 4 && method === 'GET') {
      const known = listCiRuns(root, repo).some((r) => r.jobs.some((j) => j.id === Number(rest[2])));
      if (!known) throw new HttpError(404, 'Not Found');
      return { status: 302, json: undefined, location: `${baseUrl}/_logs/${repo}/${Number(rest[2])}` };
    }
    if (rest[0] === 'issues' && rest[2] === 'comments' && rest.length === 3 && method === 'POST') {
      const number = Number(rest[1]);
      const known = listIssues(root, repo).some((i) => i.number === number) || listPulls(root, repo).some((p) => p.number === number);
      if (!known) throw new HttpError(404, 'Not Found');
      const comment = addComment(root, repo, number, CreateComment.parse(body).body, new Date(), writer);
      const json = {
        id: comment.id,
        body: comment.body,
        user: userJson(comment.user),
        created_at: comment.createdAt,
        html_url: `${baseUrl}/${repo}/issues/${number}#issuecomment-${comment.id}`,
      };
      const issue = listIssues(root, repo).find((i) => i.number === number);
      const pull = getPull(root, repo, number);
      const thread = issue ? issueJson(repo, issue) : pullAsIssueJson(repo, pull!);
      return {
        status: 201,
        json,
        deliveries: [
          { event: 'issue_comment', payload: { action: 'created', issue: thread, comment: json, repository: repoJson(repo), sender } },
        ],
      };
    }
    throw new HttpError(404, 'Not Found');
  };

  /** The owner of the one repository with that short name (token exchange names repositories without owner). */
  const existingOwnerOf = (name: string): string => {
    const owners = existsSync(root)
      ? readdirSync(root).filter((o) => !o.startsWith('.') && existsSync(bareRepoPath(root, `${o}/${name}`)))
      : [];
    if (owners.length !== 1) throw new HttpError(422, `repository ${name} is not unique in the forge`);
    return owners[0]!;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://forge.local');
    const header = req.headers.authorization ?? '';
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header);
    const auth: ForgeRequest['auth'] = m ? (m[1]!.toLowerCase() === 'token' ? 'token' : 'bearer') : 'none';
    let status = 500;
    let json: unknown;
    let diff: string | undefined;
    let text: string | undefined;
    let location: string | undefined;
    let raw: string | undefined;
    let body: unknown;
    try {
      body = await readBody(req);
      let pending: PendingDelivery[] | undefined;
      ({ status, json, diff, text, location, raw, deliveries: pending } = await route(req, url, body, m?.[2]));
      // After the answer, as GitHub delivers webhooks asynchronously.
      if (pending) res.once('finish', () => pending.forEach(deliver));
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        json = { message: err.message, ...(err.errors ? { errors: err.errors } : {}), documentation_url: 'https://docs.github.com/rest' };
      } else if (err instanceof z.ZodError) {
        status = 422;
        json = {
          message: 'Validation Failed',
          errors: err.issues.map((i) => ({ field: i.path.join('.'), code: 'invalid', message: i.message })),
        };
      } else {
        status = 500;
        json = { message: (err as Error).message };
      }
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body, auth, status });
    if (location !== undefined && status === 302) {
      res.writeHead(302, { location });
      res.end();
      return;
    }
    if (text !== undefined && status === 200) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
      return;
    }
    if (diff !== undefined && status === 200) {
      res.writeHead(200, { 'content-type': 'application/vnd.github.diff; charset=utf-8', 'x-github-media-type': 'github.v3; format=diff' });
      res.end(diff);
      return;
    }
    if (raw !== undefined && status === 200) {
      res.writeHead(200, { 'content-type': 'application/vnd.github.raw; charset=utf-8', 'x-github-media-type': 'github.v3; format=raw' });
      res.end(raw);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3' });
    res.end(JSON.stringify(json));
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
        deliveries,
        setWebhook: (url, secret) => {
          webhook = { url, secret };
        },
        reportCi: (repo, input) => {
          const failed = input.jobs.some((j) => j.conclusion === 'failure' || j.conclusion === 'timed_out');
          const run = saveCiRun(root, repo, {
            name: input.name ?? 'CI',
            headSha: input.headSha,
            headBranch: input.headBranch,
            conclusion: failed ? 'failure' : 'success',
            createdAt: new Date().toISOString(),
            jobs: input.jobs,
          });
          ciDeliveries(repo, run, input.events ?? ['check_suite', 'workflow_run']).forEach(deliver);
          return run;
        },
        idle: async () => {
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        },
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
