import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { bareRepoPath } from './forge-repositories';

/**
 * Pull requests and issues of the local forge, as JSON files beside the bare repository:
 * `<owner>/<name>.pulls/<number>.json` and `<owner>/<name>.issues/<number>.json` (+ `.comments.json`).
 */
export const ForgePull = z
  .object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string(),
    head: z.string(),
    base: z.string(),
    draft: z.boolean(),
    state: z.enum(['open', 'closed']),
    createdAt: z.string(),
    updatedAt: z.string(),
    closedAt: z.string().nullable().optional(),
    mergedAt: z.string().nullable().optional(),
    /** `owner/name` of the head repository when it is a fork (absent: this repository). */
    headRepo: z.string().optional(),
    labels: z.array(z.string()).optional(),
  })
  .strict();
export type ForgePull = z.infer<typeof ForgePull>;

/** Who wrote something on the forge: a person, or a bot (the platform's own tokens write as `nightshift[bot]`). */
export const ForgeUser = z.object({ login: z.string().min(1).max(100), type: z.enum(['User', 'Bot']) }).strict();
export type ForgeUser = z.infer<typeof ForgeUser>;
export const forgeBot: ForgeUser = { login: 'nightshift[bot]', type: 'Bot' };
const someone: ForgeUser = { login: 'forge-user', type: 'User' };

export const ForgeIssue = z
  .object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string(),
    state: z.enum(['open', 'closed']),
    createdAt: z.string(),
    updatedAt: z.string().optional(),
    user: ForgeUser.default(someone),
    labels: z.array(z.string()).default([]),
  })
  .strict();
export type ForgeIssue = z.infer<typeof ForgeIssue>;

export const ForgeComment = z
  .object({ id: z.number().int().positive(), body: z.string(), createdAt: z.string(), user: ForgeUser.default(forgeBot) })
  .strict();
export type ForgeComment = z.infer<typeof ForgeComment>;

function dirOf(forgeRoot: string, repo: string, kind: 'pulls' | 'issues'): string {
  return bareRepoPath(forgeRoot, repo).replace(/\.git$/, `.${kind}`);
}

function writeAtomically(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

function readAll<T>(dir: string, schema: z.ZodType<T>): T[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^\d+\.json$/.test(f))
    .map((f) => schema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))))
    .sort((a, b) => (a as { number: number }).number - (b as { number: number }).number);
}

/** Issues and pull requests share one number sequence, as on GitHub. */
function nextNumber(forgeRoot: string, repo: string): number {
  const all = [...readAll(dirOf(forgeRoot, repo, 'pulls'), ForgePull), ...readAll(dirOf(forgeRoot, repo, 'issues'), ForgeIssue)];
  return all.reduce((max, r) => Math.max(max, r.number), 0) + 1;
}

export function listPulls(forgeRoot: string, repo: string): ForgePull[] {
  return readAll(dirOf(forgeRoot, repo, 'pulls'), ForgePull);
}

export function getPull(forgeRoot: string, repo: string, number: number): ForgePull | undefined {
  return listPulls(forgeRoot, repo).find((p) => p.number === number);
}

export function savePull(forgeRoot: string, repo: string, pull: Omit<ForgePull, 'number'> & { number?: number }): ForgePull {
  const dir = dirOf(forgeRoot, repo, 'pulls');
  mkdirSync(dir, { recursive: true });
  const record = ForgePull.parse({ ...pull, number: pull.number ?? nextNumber(forgeRoot, repo) });
  writeAtomically(join(dir, `${record.number}.json`), record);
  return record;
}

export function listIssues(forgeRoot: string, repo: string): ForgeIssue[] {
  return readAll(dirOf(forgeRoot, repo, 'issues'), ForgeIssue);
}

/** Creates an issue (tests and the demo); returns its number. */
export function createIssue(
  forgeRoot: string,
  repo: string,
  input: { title: string; body: string; user?: ForgeUser },
  now = new Date(),
): ForgeIssue {
  const dir = dirOf(forgeRoot, repo, 'issues');
  mkdirSync(dir, { recursive: true });
  const issue = ForgeIssue.parse({
    number: nextNumber(forgeRoot, repo),
    title: input.title,
    body: input.body,
    state: 'open',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(input.user ? { user: input.user } : {}),
  });
  writeAtomically(join(dir, `${issue.number}.json`), issue);
  return issue;
}

/** Adds labels to an issue; returns the issue and the labels that were new. */
export function addLabels(
  forgeRoot: string,
  repo: string,
  number: number,
  labels: readonly string[],
  now = new Date(),
): { issue: ForgeIssue; added: string[] } | undefined {
  const issue = listIssues(forgeRoot, repo).find((i) => i.number === number);
  if (!issue) return undefined;
  const added = [...new Set(labels)].filter((l) => !issue.labels.includes(l));
  const updated = ForgeIssue.parse({ ...issue, labels: [...issue.labels, ...added], updatedAt: now.toISOString() });
  writeAtomically(join(dirOf(forgeRoot, repo, 'issues'), `${number}.json`), updated);
  return { issue: updated, added };
}

/** Labels a pull request (GitHub labels pull requests through the issues API); undefined when there is no such pull request. */
export function addPullLabels(
  forgeRoot: string,
  repo: string,
  number: number,
  labels: readonly string[],
  now = new Date(),
): { pull: ForgePull; added: string[] } | undefined {
  const pull = getPull(forgeRoot, repo, number);
  if (!pull) return undefined;
  const had = pull.labels ?? [];
  const added = [...new Set(labels)].filter((l) => !had.includes(l));
  return { pull: savePull(forgeRoot, repo, { ...pull, labels: [...had, ...added], updatedAt: now.toISOString() }), added };
}

/** Repository permissions of forge users (`<owner>/<name>.collaborators.json`); the owner is admin. */
export const ForgePermission = z.enum(['admin', 'maintain', 'write', 'triage', 'read']);
export type ForgePermission = z.infer<typeof ForgePermission>;

function collaboratorsFile(forgeRoot: string, repo: string): string {
  return bareRepoPath(forgeRoot, repo).replace(/\.git$/, '.collaborators.json');
}

export function setCollaborator(forgeRoot: string, repo: string, login: string, permission: ForgePermission): void {
  const all = collaborators(forgeRoot, repo);
  all[login.toLowerCase()] = ForgePermission.parse(permission);
  writeAtomically(collaboratorsFile(forgeRoot, repo), all);
}

function collaborators(forgeRoot: string, repo: string): Record<string, ForgePermission> {
  const file = collaboratorsFile(forgeRoot, repo);
  return existsSync(file) ? z.record(z.string(), ForgePermission).parse(JSON.parse(readFileSync(file, 'utf8'))) : {};
}

export function permissionOf(forgeRoot: string, repo: string, login: string): ForgePermission | 'none' {
  const owner = repo.split('/')[0]!.toLowerCase();
  if (login.toLowerCase() === owner) return 'admin';
  return collaborators(forgeRoot, repo)[login.toLowerCase()] ?? 'none';
}

export function listComments(forgeRoot: string, repo: string, number: number): ForgeComment[] {
  const path = join(dirOf(forgeRoot, repo, 'issues'), `${number}.comments.json`);
  return existsSync(path) ? z.array(ForgeComment).parse(JSON.parse(readFileSync(path, 'utf8'))) : [];
}

export function addComment(
  forgeRoot: string,
  repo: string,
  number: number,
  body: string,
  now = new Date(),
  user: ForgeUser = forgeBot,
): ForgeComment {
  const dir = dirOf(forgeRoot, repo, 'issues');
  mkdirSync(dir, { recursive: true });
  const comments = listComments(forgeRoot, repo, number);
  // Comment ids are unique across the repository's threads (GitHub's are global): number * 10^6 + n.
  const comment = ForgeComment.parse({ id: number * 1_000_000 + comments.length + 1, body, createdAt: now.toISOString(), user });
  writeAtomically(join(dir, `${number}.comments.json`), [...comments, comment]);
  return comment;
}

/** Edits a comment in place (GitHub's comment ids are global; ours encode the thread: number * 10^6 + n). Undefined when there is none. */
export function updateComment(
  forgeRoot: string,
  repo: string,
  id: number,
  body: string,
): { number: number; comment: ForgeComment } | undefined {
  const number = Math.floor(id / 1_000_000);
  if (number < 1) return undefined;
  const comments = listComments(forgeRoot, repo, number);
  const at = comments.findIndex((c) => c.id === id);
  if (at < 0) return undefined;
  const comment = ForgeComment.parse({ ...comments[at]!, body });
  comments[at] = comment;
  writeAtomically(join(dirOf(forgeRoot, repo, 'issues'), `${number}.comments.json`), comments);
  return { number, comment };
}

/** A check run on a commit (`<owner>/<name>.checks.json`), as the checks API keeps it. */
export const ForgeCheckRun = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1).max(200),
    headSha: z.string().regex(/^[0-9a-f]{40}$/),
    externalId: z.string().max(200).nullable(),
    status: z.enum(['queued', 'in_progress', 'completed']),
    conclusion: z.enum(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']).nullable(),
    title: z.string().max(1_000).nullable(),
    summary: z.string().max(65_535).nullable(),
    completedAt: z.string().nullable(),
  })
  .strict();
export type ForgeCheckRun = z.infer<typeof ForgeCheckRun>;

function checksFile(forgeRoot: string, repo: string): string {
  return bareRepoPath(forgeRoot, repo).replace(/\.git$/, '.checks.json');
}

export function listCheckRuns(forgeRoot: string, repo: string): ForgeCheckRun[] {
  const file = checksFile(forgeRoot, repo);
  return existsSync(file) ? z.array(ForgeCheckRun).parse(JSON.parse(readFileSync(file, 'utf8'))) : [];
}

/** Creates (no `id`) or replaces (an existing `id`) a check run. */
export function saveCheckRun(forgeRoot: string, repo: string, run: Omit<ForgeCheckRun, 'id'> & { id?: number }): ForgeCheckRun {
  const all = listCheckRuns(forgeRoot, repo);
  const record = ForgeCheckRun.parse({ ...run, id: run.id ?? all.reduce((max, c) => Math.max(max, c.id), 0) + 1 });
  const at = all.findIndex((c) => c.id === record.id);
  if (at >= 0) all[at] = record;
  else all.push(record);
  writeAtomically(checksFile(forgeRoot, repo), all);
  return record;
}

/** A pull request review (`<owner>/<name>.pulls/<number>.reviews.json`) with its inline comments, as GitHub keeps it. */
export const ForgeReview = z
  .object({
    id: z.number().int().positive(),
    user: ForgeUser,
    body: z.string(),
    state: z.enum(['COMMENTED', 'APPROVED', 'CHANGES_REQUESTED']),
    commitId: z.string().regex(/^[0-9a-f]{40}$/),
    submittedAt: z.string(),
    comments: z.array(
      z
        .object({
          id: z.number().int().positive(),
          path: z.string(),
          line: z.number().int().positive(),
          side: z.enum(['LEFT', 'RIGHT']),
          body: z.string(),
        })
        .strict(),
    ),
  })
  .strict();
export type ForgeReview = z.infer<typeof ForgeReview>;

function reviewsFile(forgeRoot: string, repo: string, number: number): string {
  return join(dirOf(forgeRoot, repo, 'pulls'), `${number}.reviews.json`);
}

export function listReviews(forgeRoot: string, repo: string, number: number): ForgeReview[] {
  const path = reviewsFile(forgeRoot, repo, number);
  return existsSync(path) ? z.array(ForgeReview).parse(JSON.parse(readFileSync(path, 'utf8'))) : [];
}

/** Stores a submitted review; review and comment ids are unique across the repository (number * 10^6 + n). */
export function addReview(
  forgeRoot: string,
  repo: string,
  number: number,
  review: Omit<ForgeReview, 'id' | 'comments'> & { comments: Omit<ForgeReview['comments'][number], 'id'>[] },
): ForgeReview {
  const existing = listReviews(forgeRoot, repo, number);
  const id = number * 1_000_000 + 500_000 + existing.length + 1;
  const comments = review.comments.map((c, i) => ({ ...c, id: id * 100 + i + 1 }));
  const record = ForgeReview.parse({ ...review, id, comments });
  mkdirSync(dirOf(forgeRoot, repo, 'pulls'), { recursive: true });
  writeAtomically(reviewsFile(forgeRoot, repo, number), [...existing, record]);
  return record;
}

/**
 * CI on the forge (`<owner>/<name>.ci.json`): what a test or the demo says CI did on a commit, as one
 * GitHub Actions workflow run with its check suite and jobs (each with its log). The forge answers the
 * Actions and checks reads for it and delivers its `check_suite` and `workflow_run` events.
 */
export const ForgeCiJob = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1).max(200),
    conclusion: z.enum(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']),
    steps: z.array(
      z
        .object({ name: z.string().min(1).max(200), conclusion: z.enum(['success', 'failure', 'skipped', 'cancelled', 'timed_out']) })
        .strict(),
    ),
    log: z.string().max(8 * 1024 * 1024),
  })
  .strict();
export type ForgeCiJob = z.infer<typeof ForgeCiJob>;

export const ForgeCiRun = z
  .object({
    workflowRunId: z.number().int().positive(),
    checkSuiteId: z.number().int().positive(),
    name: z.string().min(1).max(200),
    headSha: z.string().regex(/^[0-9a-f]{40}$/),
    headBranch: z.string().min(1).max(255),
    conclusion: ForgeCiJob.shape.conclusion,
    createdAt: z.string(),
    jobs: z.array(ForgeCiJob).max(100),
  })
  .strict();
export type ForgeCiRun = z.infer<typeof ForgeCiRun>;

function ciFile(forgeRoot: string, repo: string): string {
  return bareRepoPath(forgeRoot, repo).replace(/\.git$/, '.ci.json');
}

export function listCiRuns(forgeRoot: string, repo: string): ForgeCiRun[] {
  const file = ciFile(forgeRoot, repo);
  return existsSync(file) ? z.array(ForgeCiRun).parse(JSON.parse(readFileSync(file, 'utf8'))) : [];
}

/** Records a completed CI run (ids given out here: workflow runs, check suites and jobs each count up). */
export function saveCiRun(
  forgeRoot: string,
  repo: string,
  input: Omit<ForgeCiRun, 'workflowRunId' | 'checkSuiteId' | 'jobs'> & { jobs: Omit<ForgeCiJob, 'id'>[] },
): ForgeCiRun {
  const all = listCiRuns(forgeRoot, repo);
  const n = all.length + 1;
  const jobBase = all.reduce((max, r) => Math.max(max, ...r.jobs.map((j) => j.id)), 0);
  const record = ForgeCiRun.parse({
    ...input,
    workflowRunId: 7_000 + n,
    checkSuiteId: 9_000 + n,
    jobs: input.jobs.map((j, i) => ({ ...j, id: jobBase + i + 1 })),
  });
  writeAtomically(ciFile(forgeRoot, repo), [...all, record]);
  return record;
}
