import type * as z from 'zod';
import { HttpError, type RepoRoutes } from './forge-http';
import type { ForgeSite } from './forge-json';
import { listCheckRuns, saveCheckRun, type ForgeCheckRun } from './forge-records';
import { branchHead, commitExists } from './forge-repositories';
import { CreateCheckRun, UpdateCheckRun } from './forge-schemas';

/**
 * The forge's check run routes: creating and updating a check run on a commit (the platform's own
 * checks), and listing a commit's check runs by ref, optionally by name.
 */
export function checkRunRoutes(site: ForgeSite): RepoRoutes {
  const { root } = site;
  const checkRunJson = (repo: string, c: ForgeCheckRun) => ({
    id: c.id,
    name: c.name,
    head_sha: c.headSha,
    external_id: c.externalId,
    status: c.status,
    conclusion: c.conclusion,
    completed_at: c.completedAt,
    output: { title: c.title, summary: c.summary },
    html_url: `${site.baseUrl()}/${repo}/runs/${c.id}`,
  });

  return async ({ method, url, body, repo, bare, rest }) => {
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
    return undefined;
  };
}

/** A check run's record from the request's fields, over the existing run's (an update names only what changes). */
function checkRunRecord(
  input: Partial<z.infer<typeof CreateCheckRun>> & { name: string },
  headSha: string,
  existing?: ForgeCheckRun,
): Omit<ForgeCheckRun, 'id'> {
  return {
    name: input.name,
    headSha,
    externalId: input.external_id ?? existing?.externalId ?? null,
    status: input.status ?? (input.conclusion ? 'completed' : (existing?.status ?? 'queued')),
    conclusion: input.conclusion ?? existing?.conclusion ?? null,
    title: input.output?.title ?? existing?.title ?? null,
    summary: input.output?.summary ?? existing?.summary ?? null,
    completedAt: input.completed_at ?? existing?.completedAt ?? null,
  };
}
