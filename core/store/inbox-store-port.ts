import * as z from 'zod';
import {
  InboxDetails,
  InboxItemId,
  InboxItemState,
  InboxItemType,
  InboxResolution,
  type InboxItemView,
  type InboxListQuery,
} from '../inbox/inbox-item';
import { RunId } from '../runs/schemas';

/* The inbox store: the port the domain calls; adapters/dynamodb/inbox-store.ts implements it. */

/** An inbox item as stored: the view plus what only Nightshift reads (the task token, the checkpoint). */
export const StoredInboxItem = z.object({
  itemId: InboxItemId,
  type: InboxItemType,
  state: InboxItemState,
  runId: RunId,
  repo: z.string().min(1),
  requester: z.string().min(1),
  createdAt: z.string().min(1),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  message: z.string(),
  details: InboxDetails,
  resolution: InboxResolution.nullable(),
  /** The task token the run's execution waits on; null for items nothing waits on (pr_ready, failed). */
  taskToken: z.string().nullable(),
  /** Where the paused conversation is kept (s3:// URI or file path); null for items without a checkpoint. */
  checkpoint: z.string().nullable(),
});
export type StoredInboxItem = z.infer<typeof StoredInboxItem>;

export function toInboxView(item: StoredInboxItem): InboxItemView {
  const { taskToken: _token, checkpoint: _checkpoint, ...view } = item;
  return view;
}

export interface InboxStore {
  /** Creates the item; the same item id again (a retried task) keeps it and, while open, takes the new task token. */
  create(item: StoredInboxItem): Promise<StoredInboxItem>;
  get(itemId: string): Promise<StoredInboxItem | undefined>;
  /** Every item of one run, oldest first. */
  listByRun(runId: string): Promise<StoredInboxItem[]>;
  /** One page of items, newest first (`GET /v1/inbox`); a malformed cursor throws `InvalidCursorError`. */
  list(query: InboxListQuery): Promise<{ items: StoredInboxItem[]; nextCursor: string | null }>;
  /** Resolves an open item (conditional on `state = open`); `InboxItemNotOpenError` otherwise. */
  resolve(itemId: string, resolution: InboxResolution, by: string, at: string): Promise<StoredInboxItem>;
  /** Resolves every open item of the run that a task token waits on (the run ended): Nightshift is the resolver. */
  closeWaiting(runId: string, action: 'expired' | 'closed', at: string): Promise<number>;
}
