import type { ContentBlock, Message } from '@aws-sdk/client-bedrock-runtime';

/**
 * Cache-aware compaction of the agent's conversation. Nothing changes until the conversation nears
 * the model's window (the high-water mark); then old tool output, and large old tool inputs (whole
 * files written, long edits), are cleared in one cut down to about half the window, each replaced by a
 * placeholder that names the tool and its arguments. The cached prefix is rewritten once per cut, not
 * on every turn as trimming one message at a time would; the most recent messages stay whole.
 */
export const KEPT_RECENT_MESSAGES = 4;
/** Tool inputs longer than this (characters of one string field) are cleared with the output. */
const LARGE_INPUT_CHARS = 1_000;
const ARGUMENT_PREVIEW_CHARS = 120;

export interface CompactionResult {
  clearedResults: number;
  clearedInputs: number;
}

function describeInput(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const parts = Object.entries(input as Record<string, unknown>).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}=${JSON.stringify(text.length > ARGUMENT_PREVIEW_CHARS ? `${text.slice(0, ARGUMENT_PREVIEW_CHARS)}…` : text)}`;
  });
  return parts.join(' ');
}

export function clearedOutputNote(name: string, input: unknown): string {
  const args = describeInput(input);
  return `[output of ${name}${args ? ` ${args}` : ''} cleared by the runner to keep the conversation inside the model window; run it again if you need it]`;
}

function clearedInput(input: unknown): { input: unknown; changed: boolean } {
  if (typeof input !== 'object' || input === null) return { input, changed: false };
  let changed = false;
  const out = Object.fromEntries(
    Object.entries(input as Record<string, unknown>).map(([k, v]) => {
      if (typeof v !== 'string' || v.length <= LARGE_INPUT_CHARS) return [k, v];
      changed = true;
      return [k, `[${v.length} characters cleared by the runner]`];
    }),
  );
  return { input: out, changed };
}

/**
 * Clears from the oldest message forward until `size()` is at most `target`. Replaces entries of
 * `messages` (never the message objects themselves).
 * The last KEPT_RECENT_MESSAGES messages are never touched.
 */
export function compact(messages: Message[], size: () => number, target: number): CompactionResult {
  const result: CompactionResult = { clearedResults: 0, clearedInputs: 0 };
  const uses = new Map<string, { name: string; input: unknown }>();
  for (const m of messages)
    for (const b of m.content ?? [])
      if (b.toolUse?.toolUseId) uses.set(b.toolUse.toolUseId, { name: b.toolUse.name ?? 'tool', input: b.toolUse.input });
  for (let i = 0; i < messages.length - KEPT_RECENT_MESSAGES && size() > target; i++) {
    const message = messages[i]!;
    // A new message object: a request already built (and perhaps still held by a provider) keeps what it sent.
    messages[i] = {
      ...message,
      content: (message.content ?? []).map((block): ContentBlock => {
        if (block.toolResult) {
          const use = uses.get(block.toolResult.toolUseId ?? '');
          const note = clearedOutputNote(use?.name ?? 'a tool', use?.input);
          if (block.toolResult.content?.length === 1 && block.toolResult.content[0]?.text === note) return block;
          result.clearedResults++;
          return { toolResult: { ...block.toolResult, content: [{ text: note }] } };
        }
        if (block.toolUse) {
          const { input, changed } = clearedInput(block.toolUse.input);
          if (!changed) return block;
          result.clearedInputs++;
          return { toolUse: { ...block.toolUse, input: input as never } };
        }
        return block;
      }),
    };
  }
  return result;
}
