import { HttpError, type RepoRoutes } from './forge-http';
import { type ForgeJson, type ForgeSite, userJson } from './forge-json';
import {
  addComment,
  addLabels,
  addPullLabels,
  createIssue,
  getPull,
  listComments,
  listIssues,
  listPulls,
  updateComment,
} from './forge-records';
import { AddLabels, CreateComment, CreateIssue, CreateReaction, UpdateComment } from './forge-schemas';

/**
 * The forge's issue routes: reading and opening issues, labelling them (pull requests too, as GitHub
 * labels them through the issues API), and their comments; with the webhooks each write delivers
 * (issues.opened, issues.labeled or pull_request.labeled, issue_comment.created).
 */
export function issueRoutes(site: ForgeSite, views: ForgeJson): RepoRoutes {
  const { root } = site;
  const { issueJson, pullAsIssueJson, pullJson, repoJson } = views;
  return async ({ method, body, repo, rest, writer, sender }) => {
    if (rest[0] !== 'issues') return undefined;
    if (rest.length === 2 && method === 'GET') {
      const issue = listIssues(root, repo).find((i) => i.number === Number(rest[1]));
      if (issue) return { status: 200, json: issueJson(repo, issue) };
      const pull = getPull(root, repo, Number(rest[1]));
      if (!pull) throw new HttpError(404, 'Not Found');
      return { status: 200, json: pullAsIssueJson(repo, pull) };
    }
    if (rest.length === 1 && method === 'POST') {
      const input = CreateIssue.parse(body);
      const issue = createIssue(root, repo, { title: input.title, body: input.body ?? '', user: writer });
      return {
        status: 201,
        json: issueJson(repo, issue),
        deliveries: [{ event: 'issues', payload: { action: 'opened', issue: issueJson(repo, issue), repository: repoJson(repo), sender } }],
      };
    }
    if (rest[2] === 'labels' && rest.length === 3 && method === 'POST') {
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
    if (rest[2] === 'comments' && rest.length === 3 && method === 'GET') {
      const number = Number(rest[1]);
      return {
        status: 200,
        json: listComments(root, repo, number).map((c) => ({
          id: c.id,
          body: c.body,
          user: userJson(c.user),
          created_at: c.createdAt,
          updated_at: c.createdAt,
          html_url: `${site.baseUrl()}/${repo}/issues/${number}#issuecomment-${c.id}`,
        })),
      };
    }
    if (rest[1] === 'comments' && rest.length === 3 && method === 'PATCH') {
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
          html_url: `${site.baseUrl()}/${repo}/issues/${edited.number}#issuecomment-${c.id}`,
        },
      };
    }
    if (rest[2] === 'comments' && rest.length === 3 && method === 'POST') {
      const number = Number(rest[1]);
      const known = listIssues(root, repo).some((i) => i.number === number) || listPulls(root, repo).some((p) => p.number === number);
      if (!known) throw new HttpError(404, 'Not Found');
      const comment = addComment(root, repo, number, CreateComment.parse(body).body, new Date(), writer);
      const json = {
        id: comment.id,
        body: comment.body,
        user: userJson(comment.user),
        created_at: comment.createdAt,
        html_url: `${site.baseUrl()}/${repo}/issues/${number}#issuecomment-${comment.id}`,
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
    return undefined;
  };
}

/** Reactions on issues, pull requests' comments and issue comments: acknowledged as GitHub does, not kept. */
export const reactionRoutes: RepoRoutes = async ({ method, body, rest, sender }) => {
  if (rest.at(-1) === 'reactions' && method === 'POST' && (rest[0] === 'issues' || rest[0] === 'pulls')) {
    const input = CreateReaction.parse(body);
    return { status: 201, json: { id: 1, content: input.content, user: sender } };
  }
  return undefined;
};
