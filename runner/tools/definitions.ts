import type { Tool } from '@aws-sdk/client-bedrock-runtime';
import * as z from 'zod';

/**
 * The agent's tools (docs/runner.md#tools). Names and inputs are part of the product contract: recorded sessions
 * depend on them, so they change only with a migration of the recordings.
 */
const RepoPath = z.string().min(1).max(1_000);

export const toolInputs = {
  shell: z
    .object({
      command: z.string().min(1).max(20_000).describe('A bash command, run in the repository root'),
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(1_800)
        .optional()
        .describe('Kill the command after this many seconds (default 300; give more, up to 1800, for a full test suite)'),
    })
    .strict(),
  read_file: z
    .object({
      path: RepoPath.describe('Path relative to the repository root'),
      startLine: z.number().int().min(1).optional().describe('First line to show (1-based; default 1)'),
      endLine: z.number().int().min(1).optional().describe('Last line to show (inclusive; default: 500 lines from startLine)'),
    })
    .strict(),
  write_file: z.object({ path: RepoPath, content: z.string().max(1_000_000) }).strict(),
  edit_file: z
    .object({
      path: RepoPath,
      oldText: z.string().min(1).max(200_000).describe('Text that occurs exactly once in the file'),
      newText: z.string().max(200_000),
    })
    .strict(),
  list_files: z
    .object({
      path: RepoPath.optional().describe('Directory relative to the repository root (default: the root)'),
      pattern: z.string().min(1).max(200).optional().describe('Glob such as "**/*.ts"'),
    })
    .strict(),
  search: z
    .object({
      pattern: z
        .string()
        .min(1)
        .max(500)
        .describe('Regular expression, ripgrep (Rust) syntax: \\d, \\b, (?i) work; escape literal ( [ { . *'),
      path: RepoPath.optional(),
    })
    .strict(),
  finish: z
    .object({
      summary: z.string().min(1).max(4_000).describe('What you changed and why, for the pull request'),
      risks: z.string().max(4_000).optional().describe('What a reviewer should check'),
    })
    .strict(),
  ask_human: z.object({ question: z.string().min(1).max(4_000) }).strict(),
} as const;

export type ToolName = keyof typeof toolInputs;
export const toolNames = Object.keys(toolInputs) as ToolName[];
export type ToolInput<N extends ToolName> = z.infer<(typeof toolInputs)[N]>;

const descriptions: Record<ToolName, string> = {
  shell:
    'Run a bash command in a fresh shell in the repository root, as an unprivileged user, with no stdin and a timeout (default 300 s); background processes are killed when it returns. Returns the exit code and the output; long output is cut to its head and tail and saved whole to a file the answer names.',
  read_file:
    'Read a text file of the repository with line numbers: 500 lines from startLine (default 1), or startLine-endLine (1-based, inclusive). The answer says "lines a-b of N" and how to continue.',
  write_file: 'Create or overwrite a whole file of the repository. Prefer edit_file for changes to an existing file.',
  edit_file:
    'Replace the one occurrence of oldText in a file with newText (copy oldText exactly, without read_file line-number prefixes). Answers with the edited lines; when oldText is missing or not unique it says why and where. An edit that breaks the syntax of a JSON, YAML or CommonJS file that parsed before is refused.',
  list_files:
    'List the files (tracked and untracked, not ignored by .gitignore) and directories under a directory of the repository, optionally filtered by a glob such as "**/*.ts".',
  search:
    'Search the repository with ripgrep (honours .gitignore) for lines matching a regular expression; results grouped by file with line numbers and counts.',
  finish:
    'End the task. The runner first verifies: it runs the tests and checks the change; if something newly fails or looks unfinished it answers with the details and you continue; otherwise (and on a second finish) it commits, pushes and opens a draft pull request with your summary and risks.',
  ask_human: 'Stop and ask the human a question you cannot answer from the repository.',
};

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** The Converse `toolConfig.tools` entries, in a fixed order so the prompt cache prefix is stable. */
export function toolSpecs(): Tool[] {
  return toolNames.map((name) => ({
    toolSpec: { name, description: descriptions[name], inputSchema: { json: jsonSchemaOf(toolInputs[name]) as never } },
  }));
}
