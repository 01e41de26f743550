import { HttpError, type ForgeAnswer, type RepoRoutes } from './forge-http';
import type { ForgeJson, ForgeSite } from './forge-json';
import { listCiRuns, listPulls, saveCiRun, type ForgeCiJob, type ForgeCiRun } from './forge-records';
import { bareRepoPath, branchHead } from './forge-repositories';
import type { PendingDelivery } from './forge-webhooks';

/**
 * GitHub Actions on the local forge: the CI runs a test or the demo reports (`reportCi`, recorded as
 * `<name>.ci.json`), the webhooks that tell of them (check_suite and workflow_run completed), and the
 * routes that read them back (a run's jobs, a check suite's check runs, a job's log).
 */

/** CI that completed on a commit, as a test or the demo reports it. */
export interface ReportCiInput {
  headSha: string;
  headBranch: string;
  /** The workflow's name (default `CI`). */
  name?: string;
  jobs: Omit<ForgeCiJob, 'id'>[];
  /** Which events to deliver (default both, as GitHub Actions does). */
  events?: ('check_suite' | 'workflow_run')[];
}

const actionsApp = { id: 15368, slug: 'github-actions', name: 'GitHub Actions' };
const actionsBot = { login: 'github-actions[bot]', type: 'Bot', id: 41898282 };

/** The forge's CI: `reportCi` for the server, the repository routes, and the log download route outside `/repos`. */
export function forgeCi(site: ForgeSite, views: ForgeJson) {
  const { root } = site;
  const { repoJson } = views;

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
    html_url: `${site.baseUrl()}/${repo}/actions/runs/${run.workflowRunId}/job/${j.id}`,
    check_run_url: `${site.baseUrl()}/repos/${repo}/check-runs/${j.id}`,
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
    app: actionsApp,
    html_url: `${site.baseUrl()}/${repo}/actions/runs/${run.workflowRunId}/job/${j.id}`,
  });
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
        url: `${site.baseUrl()}/repos/${repo}/pulls/${p.number}`,
        id: p.number,
        number: p.number,
        head: { ref: p.head, sha: run.headSha, repo: { id: 1, url: `${site.baseUrl()}/repos/${repo}`, name: repo.split('/')[1] } },
        base: {
          ref: p.base,
          sha: branchHead(bareRepoPath(root, repo), p.base) ?? '',
          repo: { id: 1, url: `${site.baseUrl()}/repos/${repo}`, name: repo.split('/')[1] },
        },
      }));
  const ciDeliveries = (repo: string, run: ForgeCiRun, events: readonly ('check_suite' | 'workflow_run')[]): PendingDelivery[] => {
    const baseUrl = site.baseUrl();
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
            app: actionsApp,
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

  /** Records CI that completed on a commit as one workflow run, with the webhooks GitHub Actions would deliver. */
  const reportCi = (repo: string, input: ReportCiInput): { run: ForgeCiRun; deliveries: PendingDelivery[] } => {
    const failed = input.jobs.some((j) => j.conclusion === 'failure' || j.conclusion === 'timed_out');
    const run = saveCiRun(root, repo, {
      name: input.name ?? 'CI',
      headSha: input.headSha,
      headBranch: input.headBranch,
      conclusion: failed ? 'failure' : 'success',
      createdAt: new Date().toISOString(),
      jobs: input.jobs,
    });
    return { run, deliveries: ciDeliveries(repo, run, input.events ?? ['check_suite', 'workflow_run']) };
  };

  const routes: RepoRoutes = async ({ method, repo, rest }) => {
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
      return { status: 302, json: undefined, location: `${site.baseUrl()}/_logs/${repo}/${Number(rest[2])}` };
    }
    return undefined;
  };

  /** Where a job's log redirects to (GitHub: a short-lived download URL on another host): `/_logs/{owner}/{repo}/{job}`. */
  const logRoute = (method: string, parts: string[]): ForgeAnswer | undefined => {
    if (parts[0] !== '_logs' || parts.length !== 4 || method !== 'GET') return undefined;
    const job = listCiRuns(root, `${parts[1]}/${parts[2]}`)
      .flatMap((r) => r.jobs)
      .find((j) => j.id === Number(parts[3]));
    if (!job) throw new HttpError(404, 'Not Found');
    return { status: 200, json: undefined, text: job.log };
  };

  return { reportCi, routes, logRoute };
}
