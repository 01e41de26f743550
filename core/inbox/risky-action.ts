import * as z from 'zod';
import { globToRegExp } from '../text/glob';
import { RISKY_DETAIL_FIELDS as F } from './detail-fields';

/**
 * The `risky_action` pause (docs/inbox.md#risky_action): `.nightshift.yml` `approvalRequired` names path globs for
 * edits and command patterns for shell; a tool call that matches waits for its requester's approval
 * before it runs. Pure: what matches, what the item says, what the resumed agent is told.
 *
 * It is a gate against an agent's accidents, not a sandbox: a command can hide what it runs (a
 * script, `bash -c`, a variable), and `shell` can write files the path globs name. The tools'
 * isolation (tool user, egress proxy, protected paths) is what holds against a hostile command.
 */
export const ApprovalRequired = z
  .object({
    /** Globs of repository paths whose edits (`write_file`, `edit_file`) wait for approval: `**` crosses directories. */
    paths: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Patterns of shell commands that wait for approval: `*` matches anything; matched against each simple command of the line. */
    commands: z.array(z.string().min(1).max(500)).max(100).optional(),
  })
  .strict();
export type ApprovalRequired = z.infer<typeof ApprovalRequired>;

/** A tool call that needs approval, and the rule it matched. */
export type RiskyAction =
  | { tool: 'shell'; command: string; pattern: string }
  | { tool: 'write_file' | 'edit_file'; path: string; pattern: string };

const EDIT_TOOLS = new Set(['write_file', 'edit_file']);

/**
 * The simple commands of a shell line: split at `;`, `&&`, `||`, `|`, `&`, new lines, subshell and
 * command-substitution brackets and backticks, white space collapsed, leading `VAR=value`
 * assignments dropped (`CI=1 npm publish` is `npm publish`).
 */
export function commandSegments(command: string): string[] {
  return command
    .split(/\|\||&&|[;|&\n()`]|\$\(/)
    .map((part) =>
      part
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/^(?:[A-Za-z_][A-Za-z0-9_]*=\S* )+/, ''),
    )
    .filter((part) => part !== '');
}

/** A command pattern as a regular expression over one simple command: `*` is any text, the rest is literal, white space collapsed. */
export function commandPatternRegExp(pattern: string): RegExp {
  const literal = pattern
    .replace(/\s+/g, ' ')
    .trim()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`);
}

/** The rule of `approvalRequired` that a tool call matches, if any. Inputs that are not a shell command or an edit never match. */
export function riskyActionOf(rules: ApprovalRequired | undefined, name: string, input: unknown): RiskyAction | undefined {
  if (!rules || typeof input !== 'object' || input === null) return undefined;
  const fields = input as Record<string, unknown>;
  if (name === 'shell' && typeof fields.command === 'string') {
    const segments = commandSegments(fields.command);
    const pattern = (rules.commands ?? []).find((p) => {
      const re = commandPatternRegExp(p);
      return segments.some((segment) => re.test(segment));
    });
    return pattern === undefined ? undefined : { tool: 'shell', command: fields.command, pattern };
  }
  if (EDIT_TOOLS.has(name) && typeof fields.path === 'string') {
    const path = fields.path.replace(/\\/g, '/').replace(/^(?:\.\/)+/, '');
    const pattern = (rules.paths ?? []).find((glob) => globToRegExp(glob.replace(/^\.\//, '')).test(path));
    return pattern === undefined ? undefined : { tool: name as 'write_file' | 'edit_file', path, pattern };
  }
  return undefined;
}

const MAX_SHOWN = 2_000;
const shown = (text: string) => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);

/**
 * An edit's proposed change for the person who approves it: the lines it removes (`-`) and writes
 * (`+`), from the tool call's input; at most MAX_SHOWN characters. Undefined for an input that is not an edit's.
 */
export function proposedChangeOf(tool: 'write_file' | 'edit_file', input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const fields = input as Record<string, unknown>;
  const lines = (prefix: string, text: unknown) =>
    typeof text === 'string' && text !== ''
      ? text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `${prefix}${l}`)
      : [];
  const change = tool === 'write_file' ? lines('+', fields.content) : [...lines('-', fields.oldText), ...lines('+', fields.newText)];
  return change.length > 0 ? shown(change.join('\n')) : undefined;
}

/**
 * The inbox item's message and details (the runner redacts both before they leave it). With the tool
 * call's input, an edit's details carry its proposed change too (`proposedChangeOf`).
 */
export function riskyActionRequest(action: RiskyAction, input?: unknown): { message: string; details: Record<string, string> } {
  if (action.tool === 'shell') {
    return {
      message: `The agent wants to run a command that .nightshift.yml marks as needing approval (pattern "${action.pattern}"): ${shown(action.command)}. Approve to run it, or reject to refuse it (the agent is told and goes on).`,
      details: { [F.tool]: 'shell', [F.command]: shown(action.command), [F.pattern]: action.pattern },
    };
  }
  const change = input === undefined ? undefined : proposedChangeOf(action.tool, input);
  return {
    message: `The agent wants to change ${action.path} (${action.tool}), which .nightshift.yml marks as needing approval (glob "${action.pattern}"). Approve to make the change, or reject to refuse it (the agent is told and goes on).`,
    details: {
      [F.tool]: action.tool,
      [F.path]: action.path,
      [F.pattern]: action.pattern,
      ...(change !== undefined ? { [F.change]: change } : {}),
    },
  };
}

/** What the resumed run is told (its `resume.answer`) when the action was approved: the call's own result follows when it runs. */
export const RISKY_ACTION_APPROVED = 'The requester approved this tool call; it ran when the run resumed.';

/** The tool result the agent gets for a rejected call. */
export function riskyActionRefusal(by: string): string {
  return `refused: ${by} rejected this tool call (it needs approval under .nightshift.yml approvalRequired), so it did not run. Do not try it another way; go on without it, or say in your finish summary what is left to do.`;
}

/** Placeholder result of the paused call in the checkpoint: replaced on resume by the call's result or the refusal. */
export const RISKY_ACTION_PENDING = 'waiting for a human to approve this tool call';

/** The result of the calls after the paused one in the same turn: they are not run. */
export const NOT_RUN_AFTER_PAUSE =
  'not run: the run paused for approval of an earlier tool call in this turn; call it again if you still need it';
