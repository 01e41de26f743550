import { canTrigger, type GithubComment, type GithubRepoPort, type RepoPermission } from './github-port';
import type { ThreadComment } from './thread-prompt';
import { isBot, parseCommand } from './webhook-events';

/** The reads a pull request's discussion takes: its comments, reviews and inline comments, and who may write. */
export type DiscussionSource = Pick<GithubRepoPort, 'permissionOf' | 'issueComments' | 'reviews' | 'reviewComments'>;

export interface DiscussionOptions {
  /** `github.commentCommand`: a comment that is itself a command was the instructions of a run, not discussion. */
  commentCommand: string;
  /** Only what was written after this instant (the thread's last run); null or absent: all of it. */
  since?: string | null;
  /** A comment left out by id (the command being answered). */
  excludeId?: number | null;
}

/**
 * A pull request's discussion, oldest first: its review bodies, inline review comments (with file and
 * line) and issue comments, without commands. Each is marked `trusted` when its author has write access
 * and is not a bot; the prompts keep only those (core/github/thread-prompt.ts), so text from anyone else
 * never reaches the agent.
 */
export async function pullDiscussion(source: DiscussionSource, number: number, options: DiscussionOptions): Promise<ThreadComment[]> {
  const since = options.since ? Date.parse(options.since) : null;
  const all: GithubComment[] = [
    ...(await source.reviews(number)),
    ...(await source.reviewComments(number)),
    ...(await source.issueComments(number)),
  ]
    .filter(
      (c) =>
        c.id !== options.excludeId &&
        parseCommand(c.body, options.commentCommand) === undefined &&
        (since === null || Date.parse(c.createdAt) > since),
    )
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  return markTrusted(all, (login) => source.permissionOf(login));
}

/**
 * Comments as the prompts take them, each marked `trusted` when its author is not a bot and has write
 * access. Each author's permission is asked once.
 */
export async function markTrusted(
  comments: readonly GithubComment[],
  permissionOf: (login: string) => Promise<RepoPermission>,
): Promise<ThreadComment[]> {
  const permissions = new Map<string, Promise<boolean>>();
  const mayWrite = (login: string) => {
    const key = login.toLowerCase();
    if (!permissions.has(key)) permissions.set(key, permissionOf(login).then(canTrigger));
    return permissions.get(key)!;
  };
  const out: ThreadComment[] = [];
  for (const c of comments) {
    const trusted = !isBot(c.user) && (await mayWrite(c.user.login));
    out.push({
      author: c.user.login,
      body: c.body,
      createdAt: c.createdAt,
      trusted,
      ...(c.path !== undefined ? { path: c.path, line: c.line ?? null } : {}),
    });
  }
  return out;
}
