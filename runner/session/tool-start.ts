import type { RunContext } from './run-context';

/** Longest command shown in a start event; the whole input stays in the trace. */
const COMMAND_SHOWN = 300;

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > COMMAND_SHOWN ? `${line.slice(0, COMMAND_SHOWN - 1)}…` : line;
}

/** What a tool call is doing, in one line: the command of a shell call, the path of a file tool, the pattern of a search. */
export function toolActivity(name: string, input: unknown): string {
  const fields = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined);
  const command = text('command');
  if (command !== undefined) return `${name}: ${clip(command)}`;
  const pattern = text('pattern');
  const path = text('path');
  if (pattern !== undefined) return `${name}: ${clip(pattern)}${path ? ` in ${clip(path)}` : ''}`;
  if (path !== undefined) return `${name}: ${clip(path)}`;
  return name;
}

/**
 * Says on the run's timeline that a tool starts, before it runs, so `submit --wait` and `logs --follow`
 * show what a long step is doing while it runs (its `tool_call` event follows when it ends). The
 * message and detail pass the run's redactor like every event: a secret in a command is never shown.
 */
export async function announceToolStart(
  ctx: Pick<RunContext, 'emit'>,
  start: { name: string; input: unknown; turn: number },
): Promise<void> {
  const activity = toolActivity(start.name, start.input);
  await ctx.emit('tool_start', activity, { turn: start.turn, name: start.name, activity });
}
