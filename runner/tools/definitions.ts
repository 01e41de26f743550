import type { Tool } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';

/**
 * The agent's tools (SPEC §5). Names and inputs are part of the product contract: recorded sessions
 * depend on them, so they change only with a migration of the recordings.
 */
const RepoPath = z.string().min(1).max(1_000);

export const toolInputs = {
  shell: z
    .object({
      command: z.string().min(1).max(20_000).describe('A bash command, run in the repository root'),
      timeoutSeconds: z.number().int().min(1).max(1_800).optional().describe('Kill the command after this long (default 120)'),
    })
    .strict(),
  read_file: z
    .object({
      path: RepoPath.describe('Path relative to the repository root'),
      startLine: z.number().int().min(1).optional(),
      endLine: z.number().int().min(1).optional(),
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
      pattern: z.string().min(1).max(500).describe('Extended regular expression (grep -E)'),
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
  shell: 'Run a bash command in the repository root as an unprivileged user, with a timeout. Returns the exit code and the (possibly truncated) output.',
  read_file: 'Read a text file of the repository, optionally a range of lines (1-based, inclusive).',
  write_file: 'Create or overwrite a file of the repository with the given content.',
  edit_file: 'Replace the one occurrence of oldText in a file with newText.',
  list_files: 'List files under a directory of the repository, optionally filtered by a glob.',
  search: 'Search the repository for lines matching an extended regular expression.',
  finish: 'End the task: the runner runs the tests, commits, pushes and opens a draft pull request with your summary.',
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
