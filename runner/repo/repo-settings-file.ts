import { existsSync, lstatSync } from 'node:fs';
import { readRegularFile } from '../fs/regular-file';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { CoverageFormat } from '../../core/change-coverage/report-formats';
import { ApprovalRequired } from '../../core/inbox/risky-action';

const RepoRelativePath = z
  .string()
  .min(1)
  .max(500)
  .regex(/^(?!\/)(?!.*\.\.)/, 'must be a relative path without ".."');

/**
 * `.nightshift.yml` at the repository root: the repository's own settings for runs. It is input
 * from the repository (so from anyone who can push to it): strictly validated, and a bad file fails
 * the run with a clear reason before anything is pushed.
 */
export const NightshiftYml = z
  .object({
    /** Commands run (as the tool user) after the clone, before the tests at the base commit. */
    setup: z.array(z.string().min(1).max(2_000)).max(20).optional(),
    /** The test command, run at the base commit and again before committing. */
    test: z.string().min(1).max(2_000).optional(),
    /** A JUnit XML file the test command writes, relative to the repository root. */
    testResults: RepoRelativePath.optional(),
    /** A coverage report the test command writes (relative to the repository root); the PR shows the changed lines' coverage. */
    coverage: z.object({ report: RepoRelativePath, format: CoverageFormat }).strict().optional(),
    testTimeoutSeconds: z.number().int().min(10).max(3_600).optional(),
    /** Checks (lint, typecheck, build) run like the tests at base and head; their delta goes into the finish gate and the PR. */
    checks: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$/, 'must be 1-40 letters, digits, spaces, "_", "." or "-"'),
            run: z.string().min(1).max(2_000),
            timeoutSeconds: z.number().int().min(10).max(3_600).optional(),
          })
          .strict(),
      )
      .max(10)
      .refine((checks) => new Set(checks.map((c) => c.name)).size === checks.length, 'check names must be unique')
      .optional(),
    /** Extra globs the agent may not change (added to the defaults). */
    protectedPaths: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Tool calls that wait for a human's approval in the inbox (`risky_action`): edits of these path globs, shell commands of these patterns. */
    approvalRequired: ApprovalRequired.optional(),
    /** When set, the only globs the agent may change: an edit anywhere else is refused like a protected path (which stay protected inside them). */
    allowedPaths: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
    /** Extra instructions added to the agent's system prompt. */
    instructions: z.string().max(20_000).optional(),
  })
  .strict();
export type NightshiftYml = z.infer<typeof NightshiftYml>;

export class RepoSettingsFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`.nightshift.yml is invalid: ${problems.join('; ')}`);
    this.name = 'RepoSettingsFileError';
  }
}

const MAX_FILE_BYTES = 64 * 1024;

export function readNightshiftYml(repoRoot: string): NightshiftYml {
  const path = join(repoRoot, '.nightshift.yml');
  if (existsSync(path) && !lstatSync(path).isFile()) throw new RepoSettingsFileError(['must be a regular file']);
  const text = readRegularFile(path, MAX_FILE_BYTES);
  if (text === undefined) {
    if (existsSync(path)) throw new RepoSettingsFileError([`must be a regular file with one link, at most ${MAX_FILE_BYTES} bytes`]);
    return {};
  }
  return parseNightshiftYml(text);
}

export const MAX_NIGHTSHIFT_YML_BYTES = MAX_FILE_BYTES;

/** Validates the text of a `.nightshift.yml` (from the checkout, or from the default branch for a continued branch). */
export function parseNightshiftYml(text: string): NightshiftYml {
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 10 }) ?? {};
  } catch (err) {
    throw new RepoSettingsFileError([`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const parsed = NightshiftYml.safeParse(value);
  if (!parsed.success) {
    throw new RepoSettingsFileError(parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

const MAX_INSTRUCTIONS_BYTES = 32 * 1024;

/** AGENTS.md and CLAUDE.md, as found at the repository root. */
export function readAgentInstructions(repoRoot: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const file of ['AGENTS.md', 'CLAUDE.md']) {
    const text = readRegularFile(join(repoRoot, file), MAX_INSTRUCTIONS_BYTES);
    if (text !== undefined && text.trim() !== '') out.push({ file, text });
  }
  return out;
}
