import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
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
  })
  .strict();
export type ForgePull = z.infer<typeof ForgePull>;

export const ForgeIssue = z.object({ number: z.number().int().positive(), title: z.string(), body: z.string(), state: z.enum(['open', 'closed']), createdAt: z.string() }).strict();
export type ForgeIssue = z.infer<typeof ForgeIssue>;

export const ForgeComment = z.object({ id: z.number().int().positive(), body: z.string(), createdAt: z.string() }).strict();
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
export function createIssue(forgeRoot: string, repo: string, input: { title: string; body: string }, now = new Date()): ForgeIssue {
  const dir = dirOf(forgeRoot, repo, 'issues');
  mkdirSync(dir, { recursive: true });
  const issue = ForgeIssue.parse({ number: nextNumber(forgeRoot, repo), title: input.title, body: input.body, state: 'open', createdAt: now.toISOString() });
  writeAtomically(join(dir, `${issue.number}.json`), issue);
  return issue;
}

export function listComments(forgeRoot: string, repo: string, number: number): ForgeComment[] {
  const path = join(dirOf(forgeRoot, repo, 'issues'), `${number}.comments.json`);
  return existsSync(path) ? z.array(ForgeComment).parse(JSON.parse(readFileSync(path, 'utf8'))) : [];
}

export function addComment(forgeRoot: string, repo: string, number: number, body: string, now = new Date()): ForgeComment {
  const dir = dirOf(forgeRoot, repo, 'issues');
  mkdirSync(dir, { recursive: true });
  const comments = listComments(forgeRoot, repo, number);
  const comment = { id: comments.length + 1, body, createdAt: now.toISOString() };
  writeAtomically(join(dir, `${number}.comments.json`), [...comments, comment]);
  return comment;
}
