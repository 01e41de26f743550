/** Long tool output is cut to its head and tail, with a note, before it reaches the model. */
export const MAX_TOOL_OUTPUT_CHARS = 16_000;

export function truncateForModel(text: string, max = MAX_TOOL_OUTPUT_CHARS): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  const tail = max - head;
  const dropped = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${dropped} characters truncated by the runner; use read_file with line ranges or narrower commands to see them ...]\n${text.slice(text.length - tail)}`;
}

/** POSIX shell single-quoting. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
