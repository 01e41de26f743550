import type { ReviewComment } from './review-anchoring';

/**
 * The body of a review run's one GitHub review (pure): the agent's summary, the comments that could
 * not be anchored on a changed line (so nothing the agent said is lost), the tests at the reviewed
 * commit, what the run cost and its id. The caller makes model-written text inert and redacts it.
 */
export interface ReviewBodyInput {
  runId: string;
  summary: string;
  unanchored: { comment: ReviewComment; reason: string }[];
  /** One line on the tests at head, or null when no test command is configured. */
  tests: string | null;
  headSha: string;
  costUsd: number;
  tokens: { input: number; output: number };
}

const COMMENT_MAX = 2_000;

export function reviewBody(input: ReviewBodyInput): string {
  const parts = [`## Nightshift review\n\n${input.summary.trim()}`];
  if (input.unanchored.length) {
    const items = input.unanchored.map(({ comment, reason }) => {
      const body = comment.body.trim().slice(0, COMMENT_MAX).replace(/\n/g, '\n  ');
      return `- \`${comment.path.replace(/`/g, "'")}\` line ${comment.line} (${reason}):\n  ${body}`;
    });
    parts.push(`### Comments not on a changed line\n\n${items.join('\n')}`);
  }
  const facts = [
    `Reviewed commit \`${input.headSha.slice(0, 12)}\`; nothing was pushed.`,
    input.tests ? `Tests at this commit: ${input.tests}.` : 'No test command is configured.',
    `Cost $${input.costUsd.toFixed(4)} (${input.tokens.input} input, ${input.tokens.output} output tokens). Run \`${input.runId}\`.`,
  ];
  parts.push(`---\n${facts.join('\n')}\n\nThis is a COMMENT review: Nightshift never approves or requests changes.`);
  return parts.join('\n\n');
}
