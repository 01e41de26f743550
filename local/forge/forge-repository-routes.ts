import { pathToFileURL } from 'node:url';
import { pullDiff } from './forge-diff';
import { HttpError, type RepoRoutes } from './forge-http';
import type { ForgeSite } from './forge-json';
import { permissionOf } from './forge-records';
import { branchAliasTarget, branchHead, defaultBranchOf, fileAt, protectedBranchesOf } from './forge-repositories';

/**
 * The forge's routes about a repository itself: the repository, its branches, a compare of two branches,
 * a file's contents and a collaborator's permission.
 */
export function repositoryRoutes(site: ForgeSite): RepoRoutes {
  return async ({ method, accept, url, repo, bare, rest }) => {
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
          html_url: `${site.baseUrl()}/${repo}`,
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
      if (!/application\/vnd\.github(\.v3)?\.diff/.test(accept))
        throw new HttpError(415, 'the local forge answers a compare as a diff only (Accept: application/vnd.github.diff)');
      return { status: 200, json: undefined, diff: await pullDiff(bare, { base: m[1]!, head: m[2]! }) };
    }
    // A file at a ref, raw (`Accept: application/vnd.github.raw`), as the contents API answers it.
    if (rest[0] === 'contents' && rest.length >= 2 && method === 'GET') {
      if (!/application\/vnd\.github(\.v3)?\.raw/.test(accept))
        throw new HttpError(415, 'the local forge answers contents raw only (Accept: application/vnd.github.raw)');
      const ref = url.searchParams.get('ref') ?? defaultBranchOf(bare);
      if (!branchHead(bare, ref)) throw new HttpError(404, 'Not Found');
      try {
        return { status: 200, json: undefined, raw: fileAt(bare, `refs/heads/${ref}`, rest.slice(1).join('/')) };
      } catch {
        throw new HttpError(404, 'Not Found');
      }
    }
    if (rest[0] === 'collaborators' && rest[2] === 'permission' && rest.length === 3 && method === 'GET') {
      const permission = permissionOf(site.root, repo, rest[1]!);
      const legacy = permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      return { status: 200, json: { permission: legacy, role_name: permission, user: { login: rest[1], type: 'User' } } };
    }
    return undefined;
  };
}
