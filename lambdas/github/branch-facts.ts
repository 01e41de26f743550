import { Octokit } from '@octokit/core';
import { repoSettings } from '../../core/config/load';
import { RepoNotAllowedError } from '../../core/errors';
import { optionalEnv } from '../../core/env';
import {
  BRANCH_FACTS_PERMISSIONS,
  BranchFactsAnswer,
  BranchFactsRequest,
  CompareDiffAnswer,
  CompareDiffRequest,
  MAX_COMPARE_DIFF_CHARS,
  PullFactsAnswer,
  PullFactsRequest,
} from './branch-facts-contract';
import { GITHUB_CALL_TIMEOUT_MS } from './github-repo-client';
import { mintRepoToken, webhookTokenBrokerDepsFromEnv, type WebhookTokenBrokerDeps } from './webhook-token-broker';

/**
 * The branch facts function: what GitHub (or the local forge, which answers the same API) says about
 * the branch a submission wants to continue — the default branch, whether the branch exists, the name
 * GitHub answers for it (another branch's when it is an alias), its protection, and whether it is the
 * head of an open pull request of the same repository. It mints a read-only token for its own calls
 * (BRANCH_FACTS_PERMISSIONS: read only) and returns facts only: the token never leaves this function, so
 * the API and webhook functions that may invoke it get no way to GitHub.
 */
export interface BranchFactsDeps extends WebhookTokenBrokerDeps {
  /** GitHub's API (config `github.apiUrl`, or the local forge's). */
  apiUrl: string;
}

/** A read-only client for one allowlisted repository, its token minted here and never returned. */
async function repoClient(deps: BranchFactsDeps, name: string) {
  const settings = repoSettings(deps.config, name);
  if (!settings) throw new RepoNotAllowedError(name);
  const { token } = await mintRepoToken(deps, settings.name, BRANCH_FACTS_PERMISSIONS, 'nightshift-branch-facts');
  const octokit = new Octokit({
    auth: token,
    baseUrl: deps.apiUrl.replace(/\/$/, ''),
    userAgent: 'nightshift-branch-facts',
    request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(GITHUB_CALL_TIMEOUT_MS) }) },
  });
  const [owner, repo] = settings.name.split('/') as [string, string];
  return { settings, octokit, owner, repo };
}

/** A review run's pull request: its state and where its head branch lives (a fork or this repository). */
export async function lookupPullFacts(deps: BranchFactsDeps, input: unknown): Promise<PullFactsAnswer> {
  const request = PullFactsRequest.parse(input);
  const { settings, octokit, owner, repo } = await repoClient(deps, request.repo);
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner, repo, pull_number: request.pull });
    return PullFactsAnswer.parse({
      repository: settings.name,
      pull: { state: data.state === 'open' ? 'open' : 'closed', headRef: data.head.ref, headRepo: data.head.repo?.full_name ?? null },
    });
  } catch (err) {
    if ((err as { status?: number }).status === 404) return { repository: settings.name, pull: null };
    throw err;
  }
}

const notFound = (err: unknown) => (err as { status?: number }).status === 404;

/** A run branch against its base: GitHub's compare diff (base...head) and `.nightshift.yml` at the base, as text. */
export async function lookupCompareDiff(deps: BranchFactsDeps, input: unknown): Promise<CompareDiffAnswer> {
  const request = CompareDiffRequest.parse(input);
  const { settings, octokit, owner, repo } = await repoClient(deps, request.repo);
  const base = request.base ?? (await octokit.request('GET /repos/{owner}/{repo}', { owner, repo })).data.default_branch;
  const [diff, nightshiftYml] = await Promise.all([
    octokit
      .request('GET /repos/{owner}/{repo}/compare/{basehead}', {
        owner,
        repo,
        basehead: `${base}...${request.head}`,
        headers: { accept: 'application/vnd.github.diff' },
      })
      .then(
        ({ data }) => String(data as unknown),
        (err: unknown) => {
          if (notFound(err)) return null;
          throw err;
        },
      ),
    octokit
      .request('GET /repos/{owner}/{repo}/contents/{path}', {
        owner,
        repo,
        path: '.nightshift.yml',
        ref: base,
        headers: { accept: 'application/vnd.github.raw' },
      })
      .then(
        ({ data }) => String(data as unknown).slice(0, 256 * 1024) as string | null,
        (err: unknown) => {
          if (notFound(err)) return null;
          throw err;
        },
      ),
  ]);
  const truncated = diff !== null && diff.length > MAX_COMPARE_DIFF_CHARS;
  return CompareDiffAnswer.parse({
    repository: settings.name,
    base,
    diff: truncated ? diff.slice(0, MAX_COMPARE_DIFF_CHARS) : diff,
    truncated,
    nightshiftYml,
  });
}

export async function lookupBranchFacts(deps: BranchFactsDeps, input: unknown): Promise<BranchFactsAnswer> {
  const request = BranchFactsRequest.parse(input);
  const { settings, octokit, owner, repo } = await repoClient(deps, request.repo);
  const [repository, branch, pulls] = await Promise.all([
    octokit.request('GET /repos/{owner}/{repo}', { owner, repo }),
    octokit.request('GET /repos/{owner}/{repo}/branches/{branch}', { owner, repo, branch: request.branch }).then(
      ({ data }) => ({ exists: true, name: data.name, protected: data.protected }),
      (err: unknown) => {
        // A branch that does not exist yet (a new nightshift/ branch) is a fact, not a failure.
        if ((err as { status?: number }).status === 404) return { exists: false, name: null, protected: false };
        throw err;
      },
    ),
    octokit.request('GET /repos/{owner}/{repo}/pulls', { owner, repo, head: `${owner}:${request.branch}`, state: 'open', per_page: 10 }),
  ]);
  const fullName = repository.data.full_name.toLowerCase();
  return BranchFactsAnswer.parse({
    repository: settings.name,
    defaultBranch: repository.data.default_branch,
    branch,
    openPullRequestHead: pulls.data.some(
      (p) => p.state === 'open' && p.head.ref === request.branch && (p.head.repo?.full_name ?? '').toLowerCase() === fullName,
    ),
  });
}

let deps: BranchFactsDeps | undefined;

/**
 * Lambda entry: `{ kind: "branchFacts", repo, branch }` in, `BranchFactsAnswer` out; `{ kind:
 * "pullFacts", repo, pull }` in, `PullFactsAnswer` out; or `{ kind: "compareDiff", repo, base, head }`
 * in, `CompareDiffAnswer` out; refusals and GitHub failures throw.
 */
export async function handler(event: unknown): Promise<BranchFactsAnswer | PullFactsAnswer | CompareDiffAnswer> {
  if (!deps) {
    const base = webhookTokenBrokerDepsFromEnv();
    deps = { ...base, apiUrl: optionalEnv('GITHUB_API_URL') ?? base.config.github.apiUrl };
  }
  if (typeof event === 'object' && event !== null && (event as { kind?: unknown }).kind === 'pullFacts') {
    const pull = await lookupPullFacts(deps, event);
    console.log(
      JSON.stringify({ level: 'info', message: 'pull request facts answered', repository: pull.repository, found: pull.pull !== null }),
    );
    return pull;
  }
  if (typeof event === 'object' && event !== null && (event as { kind?: unknown }).kind === 'compareDiff') {
    const compared = await lookupCompareDiff(deps, event);
    console.log(
      JSON.stringify({
        level: 'info',
        message: 'compare diff answered',
        repository: compared.repository,
        found: compared.diff !== null,
        chars: compared.diff?.length ?? 0,
        truncated: compared.truncated,
      }),
    );
    return compared;
  }
  const answer = await lookupBranchFacts(deps, event);
  console.log(
    JSON.stringify({
      level: 'info',
      message: 'branch facts answered',
      repository: answer.repository,
      exists: answer.branch.exists,
      protected: answer.branch.protected,
    }),
  );
  return answer;
}
