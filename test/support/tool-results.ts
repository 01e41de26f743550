/** A tool call's result as the runner sent it back to the model (a Converse toolResult block). */
export interface SentToolResult {
  toolUseId: string;
  status: string;
  content: { text: string }[];
}

/**
 * What each tool call returned to the model, by tool use id, from the requests a scripted provider
 * recorded: each request carries the previous turn's tool results in its last message.
 */
export function toolResultsById(requests: readonly unknown[]): Map<string, SentToolResult> {
  const results = (requests as { messages: { content: { toolResult?: SentToolResult }[] }[] }[])
    .flatMap((r) => r.messages.at(-1)!.content)
    .filter((b) => b.toolResult)
    .map((b) => b.toolResult!);
  return new Map(results.map((r) => [r.toolUseId, r]));
}
