/**
 * A run of a GitHub issue in local mode, as alice drives it on the local forge: she opens the issue,
 * the run waits for her on it, and her comment there resumes it to its end; and what the platform
 * wrote on the forge meanwhile (its comments, and the edits of a comment).
 */
import { isTerminal } from '../../core/runs/lifecycle';
import { listComments } from '../../local/forge/forge-records';
import { actOnForge, sampleRepo, type TestPlatform } from '../local/platform-harness';
import { eventually } from './eventually';

/** alice opens the issue "Fix slugify" on the sample repository: answers its number. */
export async function aliceOpensSlugifyIssue(t: TestPlatform): Promise<number> {
  const issue = await actOnForge(t)('alice', 'POST', '/issues', { title: 'Fix slugify', body: 'Fix slugify so the tests pass.' });
  return Number(issue.number);
}

/** The issue run, once it waits for a human (`what` names the wait). */
export function issueRunWaiting(t: TestPlatform, what: string) {
  return eventually(
    async () =>
      (await t.platform.store.runs.list({ limit: 10 })).runs.find((r) => r.source === 'github_issue' && r.status === 'WAITING_FOR_HUMAN'),
    what,
    120_000,
  );
}

/**
 * alice comments `body` on issue `issue` (her answer to, or approval of, what run `runId` waits for):
 * the stored run, once it has ended.
 */
export async function aliceResumesOnIssue(t: TestPlatform, issue: number, body: string, runId: string) {
  await actOnForge(t)('alice', 'POST', `/issues/${issue}/comments`, { body });
  return eventually(
    async () => {
      const r = await t.platform.store.runs.get(runId);
      return r && isTerminal(r.status) ? r : undefined;
    },
    'the resumed run to end',
    150_000,
  );
}

/** The comments the platform (a Bot) wrote on issue `issue`, oldest first. */
export function botCommentsOn(t: TestPlatform, issue: number) {
  return listComments(t.home.forge, sampleRepo, issue).filter((c) => c.user.type === 'Bot');
}

/** Every body comment `commentId` was edited to, in order: the successful PATCHes in the forge's request log. */
export function editsOf(t: TestPlatform, commentId: number): string[] {
  return t.platform.forge.requests
    .filter((r) => r.method === 'PATCH' && r.path === `/repos/${sampleRepo}/issues/comments/${commentId}` && r.status === 200)
    .map((r) => String((r.body as { body?: unknown }).body));
}

/** The platform's comment on issue `issue` that names inbox item `itemId` (what the run asks there), once it is posted. */
export function botCommentOnItem(t: TestPlatform, issue: number, itemId: string, what: string) {
  return eventually(() => botCommentsOn(t, issue).find((c) => c.body.includes(`inbox item \`${itemId}\``)), what, 60_000);
}
