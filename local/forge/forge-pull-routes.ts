import { commentableLines } from '../../core/review/review-anchoring';
import { pullDiff } from './forge-diff';
import { HttpError, type RepoRequest, type RepoRoutes } from './forge-http';
import type { ForgeJson, ForgeSite } from './forge-json';
import { addReview, getPull, listPulls, listReviews, permissionOf, savePull, type ForgePull } from './forge-records';
import { branchHead, commitExists, mergeBranch, MergeConflictError } from './forge-repositories';
import { CreatePull, CreateReview, UpdatePull } from './forge-schemas';
import type { PendingDelivery } from './forge-webhooks';

/**
 * The forge's pull request routes: listing, opening, reading (also as a diff), editing, closing and
 * merging pull requests (a close or merge delivers `pull_request.closed`), and their reviews with inline comments.
 */
export function pullRoutes(site: ForgeSite, views: ForgeJson): RepoRoutes {
  const { root } = site;
  const { pullJson, repoJson, reviewJson, reviewCommentJson } = views;
  /** GitHub's `pull_request.closed`, merged or not, after a close or a merge through the API. */
  const closedDelivery = (repo: string, p: ForgePull, sender: RepoRequest['sender']): PendingDelivery => ({
    event: 'pull_request',
    payload: { action: 'closed', number: p.number, pull_request: pullJson(repo, p), repository: repoJson(repo), sender },
  });

  return async ({ method, accept, url, body, repo, bare, rest, writer, sender }) => {
    if (rest[0] !== 'pulls') return undefined;
    if (rest.length === 1 && method === 'GET') {
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
    if (rest.length === 1 && method === 'POST') {
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
    if (rest.length === 2 && (method === 'PATCH' || method === 'GET')) {
      const existing = getPull(root, repo, Number(rest[1]));
      if (!existing) throw new HttpError(404, 'Not Found');
      // `Accept: application/vnd.github.diff` asks for the pull request as a diff, as GitHub answers it.
      if (method === 'GET' && /application\/vnd\.github(\.v3)?\.diff/.test(accept))
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
    if (rest[2] === 'merge' && rest.length === 3 && method === 'PUT') {
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
    if (rest.length === 3 && (rest[2] === 'comments' || rest[2] === 'reviews') && method === 'GET') {
      const number = Number(rest[1]);
      if (!getPull(root, repo, number)) throw new HttpError(404, 'Not Found');
      const reviews = listReviews(root, repo, number);
      if (rest[2] === 'reviews') return { status: 200, json: reviews.map((r) => reviewJson(repo, number, r)) };
      return { status: 200, json: reviews.flatMap((r) => r.comments.map((c) => reviewCommentJson(repo, number, r, c))) };
    }
    if (rest.length === 3 && rest[2] === 'reviews' && method === 'POST') {
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
    return undefined;
  };
}

/** A review's state, from the event that submits it. */
const reviewStates = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;
