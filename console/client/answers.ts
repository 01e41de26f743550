import * as z from 'zod/mini';
import { DIFF_LINE_KINDS, FILE_CHANGES, RISK_KINDS } from '../../core/console/risky-diff';

/**
 * The answers the page reads, checked with zod (its small `zod/mini` build: the API's own schemas in
 * core/ use the full zod, whose size would dwarf the console). They name the fields the console shows;
 * values it only displays (status, outcome, source, event type) are strings, so a value the API adds
 * later shows as text instead of breaking the page.
 */
export const RunAnswer = z.object({
  runId: z.string(),
  repo: z.string(),
  status: z.string(),
  outcome: z.nullable(z.string()),
  source: z.string(),
  /** `change` or `review` (an older API without kinds: change). */
  kind: z._default(z.string(), 'change'),
  /** The pull request a review run read. */
  pr: z._default(z.nullable(z.number()), null),
  requester: z.string(),
  prompt: z.string(),
  baseBranch: z.nullable(z.string()),
  createdAt: z.string(),
  startedAt: z.nullable(z.string()),
  finishedAt: z.nullable(z.string()),
  branch: z.nullable(z.string()),
  prUrl: z.nullable(z.string()),
  budgetUsd: z.number(),
  costUsd: z.number(),
  tokens: z.object({ input: z.number(), output: z.number(), cacheRead: z.number(), cacheWrite: z.number() }),
  queuePosition: z.nullable(z.number()),
  queueReason: z.optional(z.nullable(z.string())),
  cancelRequested: z.boolean(),
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  thread: z.optional(z.nullable(z.string())),
  pullRequest: z.optional(z.nullable(z.object({ state: z.string(), at: z.string() }))),
});
export type RunAnswer = z.infer<typeof RunAnswer>;

export const RunPageAnswer = z.object({ runs: z.array(RunAnswer), nextCursor: z.nullable(z.string()) });
export type RunPageAnswer = z.infer<typeof RunPageAnswer>;

export const EventAnswer = z.object({
  seq: z.string(),
  at: z.string(),
  type: z.string(),
  message: z.string(),
  detail: z.optional(z.record(z.string(), z.unknown())),
});
export type EventAnswer = z.infer<typeof EventAnswer>;

export const EventPageAnswer = z.object({ events: z.array(EventAnswer), nextCursor: z.nullable(z.string()) });

export const SubmitAnswer = z.object({ runId: z.string(), status: z.string() });

export const ConsoleConfigAnswer = z.object({
  mode: z.enum(['local', 'stack']),
  api: z.string(),
  repos: z.array(z.object({ name: z.string(), budgetUsd: z.number(), maxMinutes: z.number() })),
  budgets: z.object({ perRunUsd: z.number(), maxPerRunUsd: z.number() }),
  diffs: z.boolean(),
});
export type ConsoleConfigAnswer = z.infer<typeof ConsoleConfigAnswer>;

const Risk = z.object({ kind: z.enum(RISK_KINDS), reason: z.string() });
const DiffLine = z.object({
  kind: z.enum(DIFF_LINE_KINDS),
  text: z.string(),
  oldNumber: z.nullable(z.number()),
  newNumber: z.nullable(z.number()),
  risks: z.array(Risk),
});
const DiffFile = z.object({
  oldPath: z.nullable(z.string()),
  newPath: z.nullable(z.string()),
  path: z.string(),
  change: z.enum(FILE_CHANGES),
  binary: z.boolean(),
  risks: z.array(Risk),
  hunks: z.array(z.object({ header: z.string(), lines: z.array(DiffLine) })),
  additions: z.number(),
  deletions: z.number(),
});
export const DiffAnswer = z.object({ files: z.array(DiffFile), riskyLines: z.number(), truncated: z.boolean() });
export type DiffAnswer = z.infer<typeof DiffAnswer>;

export const RunDiffAnswer = z.object({ repo: z.string(), base: z.string(), head: z.string(), diff: DiffAnswer });

export const PullAnswer = z.object({
  repo: z.string(),
  number: z.number(),
  title: z.string(),
  body: z.string(),
  state: z.string(),
  draft: z.boolean(),
  base: z.string(),
  head: z.string(),
  createdAt: z.string(),
  diff: DiffAnswer,
});
export type PullAnswer = z.infer<typeof PullAnswer>;

/**
 * An inbox item (docs/inbox.md). `type` is one of the API's types, but kept a string here so a type the API
 * adds later shows in its own group instead of breaking the page; `details` is type-specific and is
 * read field by field where it is shown (pages/inbox-item-view.ts).
 */
export const InboxItemAnswer = z.object({
  itemId: z.string(),
  type: z.string(),
  state: z.string(),
  runId: z.string(),
  repo: z.string(),
  requester: z.string(),
  createdAt: z.string(),
  resolvedAt: z.nullable(z.string()),
  resolvedBy: z.nullable(z.string()),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  resolution: z.nullable(z.object({ action: z.string(), answer: z.nullable(z.string()) })),
});
export type InboxItemAnswer = z.infer<typeof InboxItemAnswer>;

export const InboxPageAnswer = z.object({ items: z.array(InboxItemAnswer), nextCursor: z.nullable(z.string()) });
export type InboxPageAnswer = z.infer<typeof InboxPageAnswer>;

/** The API's error envelope (docs/api.md#errors), or API Gateway's own `{message}`. */
export const ErrorAnswer = z.union([
  z.object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
    }),
  }),
  z.object({ message: z.string() }),
]);
