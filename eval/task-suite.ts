import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';

/**
 * The eval suite: small task repositories, each in `eval/tasks/<id>/` with
 * - `task.json` (this schema): the prompt (and issue) the agent gets, the repo's own test command, and
 *   how the grader decides (its command, fail-to-pass and pass-to-pass test names);
 * - `repo/`: the repository at its base commit, as the agent sees it;
 * - `hidden/`: the grader's tests, copied over the workspace after the agent's diff is applied (the
 *   agent never sees them; files it changed at those paths are replaced, as in SWE-bench);
 * - `gold.patch`: a reference solution, which must resolve the task (an `ask` task has none: asking
 *   is its solution).
 */
export const TASKS_DIR = resolve(__dirname, 'tasks');
export const GRADER_SUPPORT_DIR = resolve(__dirname, 'support');

export const EvalTask = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,60}$/),
    language: z.enum(['javascript', 'python']),
    kind: z.enum(['bug', 'feature', 'ambiguous', 'unrelated-failures', 'huge-file', 'long-output', 'long-task']),
    prompt: z.string().min(1),
    issue: z
      .object({ title: z.string().min(1), body: z.string() })
      .strict()
      .optional(),
    /** The repository's own test command (the runner's `test`: what the agent and the finish gate run). */
    test: z.string().min(1),
    /** `ask`: the right outcome is a question to a human (the run ends with `ask_human`), not a change. */
    expect: z.enum(['change', 'ask']).default('change'),
    /** Paths the change must leave alone (unrelated code failing at base): touching one is not resolved. */
    mustNotTouch: z.array(z.string().min(1)).default([]),
    /** A smaller window for this task's runs (a long task that must go through compaction). */
    contextWindowTokens: z.number().int().positive().optional(),
    maxTurns: z.number().int().positive().optional(),
    grader: z
      .object({
        /** Runs in the graded workspace; prints TAP (node --test, .eval-grader/unittest_tap.py). */
        command: z.string().min(1),
        failToPass: z.array(z.string().min(1)),
        passToPass: z.array(z.string().min(1)).min(1),
        timeoutSeconds: z.number().int().positive().max(1_800).default(300),
      })
      .strict(),
  })
  .strict()
  .refine((t) => t.expect === 'ask' || t.grader.failToPass.length > 0, { message: 'a change task needs at least one fail-to-pass test' });
export type EvalTask = z.infer<typeof EvalTask>;

export interface LoadedTask {
  task: EvalTask;
  dir: string;
  repoDir: string;
  hiddenDir: string;
  /** The reference solution; undefined for an `ask` task. */
  goldPatch: string | undefined;
}

export function loadTask(dir: string): LoadedTask {
  const file = join(dir, 'task.json');
  const parsed = EvalTask.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  const task = parsed.data;
  const goldFile = join(dir, 'gold.patch');
  const goldPatch = existsSync(goldFile) ? readFileSync(goldFile, 'utf8') : undefined;
  if (task.expect === 'change' && goldPatch === undefined) throw new Error(`${dir}: a change task needs gold.patch`);
  if (task.expect === 'ask' && goldPatch !== undefined) throw new Error(`${dir}: an ask task has no gold.patch (asking is its solution)`);
  return { task, dir, repoDir: join(dir, 'repo'), hiddenDir: join(dir, 'hidden'), goldPatch };
}

/** Every task of the suite, or the named ones (an unknown name is an error). */
export function loadSuite(only?: readonly string[], tasksDir = TASKS_DIR): LoadedTask[] {
  const all = readdirSync(tasksDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => loadTask(join(tasksDir, e.name)))
    .sort((a, b) => a.task.id.localeCompare(b.task.id));
  for (const t of all)
    if (t.dir !== join(tasksDir, t.task.id)) throw new Error(`${t.dir}: its directory must be named after its id ${t.task.id}`);
  if (!only || only.length === 0) return all;
  const unknown = only.filter((id) => !all.some((t) => t.task.id === id));
  if (unknown.length) throw new Error(`unknown eval task(s): ${unknown.join(', ')} (known: ${all.map((t) => t.task.id).join(', ')})`);
  return all.filter((t) => only.includes(t.task.id));
}
