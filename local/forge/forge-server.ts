import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { RepoName } from '../../core/config/schema';
import { issueForgeToken, verifyForgeToken } from './forge-tokens';
import { addComment, getPull, listIssues, listPulls, savePull, type ForgePull } from './forge-records';
import { bareRepoPath, branchHead, defaultBranchOf, protectedBranchesOf } from './forge-repositories';

/**
 * The local forge (SPEC §8): a real HTTP server on loopback speaking the subset of GitHub's REST API
 * that Nightshift uses, over bare repositories at `<root>/<owner>/<name>.git`:
 *   GET   /repos/{owner}/{repo}
 *   GET   /repos/{owner}/{repo}/branches/{branch}     (protected: from `nightshift.protectedBranch` in the bare repo's config)
 *   GET   /repos/{owner}/{repo}/pulls?head=owner:branch&state=open|closed|all
 *   POST  /repos/{owner}/{repo}/pulls               {title, head, base, body?, draft?}
 *   PATCH /repos/{owner}/{repo}/pulls/{number}      {title?, body?, state?}
 *   GET   /repos/{owner}/{repo}/issues/{number}
 *   POST  /repos/{owner}/{repo}/issues/{number}/comments {body}
 *   POST  /app/installations/{id}/access_tokens     (GitHub App token exchange, for the broker's app mode)
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

const CreatePull = z.object({ title: z.string().min(1), head: z.string().min(1), base: z.string().min(1), body: z.string().optional(), draft: z.boolean().optional(), maintainer_can_modify: z.boolean().optional() });
const UpdatePull = z.object({ title: z.string().min(1).optional(), body: z.string().optional(), state: z.enum(['open', 'closed']).optional(), base: z.string().optional() });
const CreateComment = z.object({ body: z.string().min(1) });
const AccessTokenRequest = z.object({ repositories: z.array(z.string()).optional(), repository_ids: z.array(z.number()).optional(), permissions: z.record(z.string(), z.string()).optional() });

export function startForge(options: ForgeOptions): Promise<ForgeServer> {
  const root = options.root;
  const requests: ForgeRequest[] = [];
  let baseUrl = '';

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
      head: { ref: p.head, label: `${owner}:${p.head}`, sha: branchHead(bareRepoPath(root, repo), p.head) ?? null, repo: { full_name: repo } },
      base: { ref: p.base, label: `${owner}:${p.base}` },
      user: { login: 'nightshift[bot]' },
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    };
  };

  const route = async (req: IncomingMessage, url: URL, body: unknown, token: string | undefined): Promise<{ status: number; json: unknown }> => {
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (parts[0] === 'app' && parts[1] === 'installations' && parts[3] === 'access_tokens' && method === 'POST') {
      if (!token) throw new HttpError(401, 'A JSON web token could not be decoded');
      if (Number(parts[2]) !== (options.installationId ?? 1)) throw new HttpError(404, 'Not Found');
      const input = AccessTokenRequest.parse(body ?? {});
      const names = input.repositories ?? [];
      if (names.length !== 1) throw new HttpError(422, 'the local forge issues tokens for exactly one repository');
      const owner = existingOwnerOf(names[0]!);
      const { token: issued, expiresAt } = issueForgeToken(root, `${owner}/${names[0]}`, null);
      return { status: 201, json: { token: issued, expires_at: expiresAt, permissions: input.permissions ?? {}, repository_selection: 'selected', repositories: [{ name: names[0], full_name: `${owner}/${names[0]}` }] } };
    }

    if (parts[0] !== 'repos' || parts.length < 3) throw new HttpError(404, 'Not Found');
    const repoParsed = RepoName.safeParse(`${parts[1]}/${parts[2]}`);
    if (!repoParsed.success) throw new HttpError(404, 'Not Found');
    const repo = repoParsed.data;
    const bare = bareRepoPath(root, repo);
    if (!existsSync(bare)) throw new HttpError(404, 'Not Found');
    const write = method !== 'GET' && method !== 'HEAD';
    if (write) {
      const record = token ? verifyForgeToken(root, token) : undefined;
      if (!record) throw new HttpError(401, 'Bad credentials');
      if (record.repo !== repo.toLowerCase()) throw new HttpError(403, 'Resource not accessible by integration');
    }
    const rest = parts.slice(3);

    if (rest.length === 0 && method === 'GET') {
      const [owner, name] = repo.split('/') as [string, string];
      return {
        status: 200,
        json: { id: 1, name, full_name: repo, owner: { login: owner }, private: false, default_branch: defaultBranchOf(bare), clone_url: pathToFileURL(bare).href, html_url: `${baseUrl}/${repo}` },
      };
    }
    if (rest[0] === 'branches' && rest.length >= 2 && method === 'GET') {
      const name = rest.slice(1).join('/');
      const sha = branchHead(bare, name);
      if (!sha) throw new HttpError(404, 'Branch not found');
      return { status: 200, json: { name, commit: { sha }, protected: protectedBranchesOf(bare).includes(name) } };
    }
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const base = url.searchParams.get('base');
      const pulls = listPulls(root, repo).filter(
        (p) => (state === 'all' || p.state === state) && (!head || `${repo.split('/')[0]}:${p.head}`.toLowerCase() === head.toLowerCase()) && (!base || p.base === base),
      );
      return { status: 200, json: pulls.map((p) => pullJson(repo, p)) };
    }
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'POST') {
      const input = CreatePull.parse(body);
      const headBranch = input.head.includes(':') ? input.head.split(':')[1]! : input.head;
      if (!branchHead(bare, headBranch)) throw new HttpError(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      if (!branchHead(bare, input.base)) throw new HttpError(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      if (listPulls(root, repo).some((p) => p.state === 'open' && p.head === headBranch)) {
        throw new HttpError(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${headBranch}.` }]);
      }
      const now = new Date().toISOString();
      const pull = savePull(root, repo, { title: input.title, body: input.body ?? '', head: headBranch, base: input.base, draft: input.draft ?? false, state: 'open', createdAt: now, updatedAt: now });
      return { status: 201, json: pullJson(repo, pull) };
    }
    if (rest[0] === 'pulls' && rest.length === 2 && (method === 'PATCH' || method === 'GET')) {
      const existing = getPull(root, repo, Number(rest[1]));
      if (!existing) throw new HttpError(404, 'Not Found');
      if (method === 'GET') return { status: 200, json: pullJson(repo, existing) };
      const input = UpdatePull.parse(body ?? {});
      const updated = savePull(root, repo, { ...existing, ...input, updatedAt: new Date().toISOString() });
      return { status: 200, json: pullJson(repo, updated) };
    }
    if (rest[0] === 'issues' && rest.length === 2 && method === 'GET') {
      const issue = listIssues(root, repo).find((i) => i.number === Number(rest[1]));
      if (!issue) throw new HttpError(404, 'Not Found');
      return { status: 200, json: { id: issue.number, number: issue.number, title: issue.title, body: issue.body, state: issue.state, html_url: `${baseUrl}/${repo}/issues/${issue.number}`, created_at: issue.createdAt } };
    }
    if (rest[0] === 'issues' && rest[2] === 'comments' && rest.length === 3 && method === 'POST') {
      const number = Number(rest[1]);
      const known = listIssues(root, repo).some((i) => i.number === number) || listPulls(root, repo).some((p) => p.number === number);
      if (!known) throw new HttpError(404, 'Not Found');
      const comment = addComment(root, repo, number, CreateComment.parse(body).body);
      return { status: 201, json: { id: comment.id, body: comment.body, created_at: comment.createdAt, html_url: `${baseUrl}/${repo}/issues/${number}#issuecomment-${comment.id}` } };
    }
    throw new HttpError(404, 'Not Found');
  };

  /** The owner of the one repository with that short name (token exchange names repositories without owner). */
  const existingOwnerOf = (name: string): string => {
    const owners = existsSync(root) ? readdirSync(root).filter((o) => !o.startsWith('.') && existsSync(bareRepoPath(root, `${o}/${name}`))) : [];
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
    let body: unknown;
    try {
      body = await readBody(req);
      ({ status, json } = await route(req, url, body, m?.[2]));
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        json = { message: err.message, ...(err.errors ? { errors: err.errors } : {}), documentation_url: 'https://docs.github.com/rest' };
      } else if (err instanceof z.ZodError) {
        status = 422;
        json = { message: 'Validation Failed', errors: err.issues.map((i) => ({ field: i.path.join('.'), code: 'invalid', message: i.message })) };
      } else {
        status = 500;
        json = { message: (err as Error).message };
      }
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body, auth, status });
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
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

