import type { InboxItemType } from '../../core/inbox/inbox-item';
import type { InboxStore } from '../../core/store/inbox-store-port';
import { newRunId } from '../../core/runs/run-id';

/**
 * An open inbox item of `item.runId`, written to the store as Pause writes one but with no task token
 * waiting, so resolving it through the real API or console resumes nothing: its id.
 */
export async function openInboxItem(
  inbox: InboxStore,
  item: { type: InboxItemType; runId: string; repo: string; requester: string; message: string; details: Record<string, unknown> },
): Promise<string> {
  const itemId = newRunId();
  await inbox.create({
    itemId,
    ...item,
    state: 'open',
    createdAt: new Date().toISOString(),
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    taskToken: null,
    checkpoint: null,
  });
  return itemId;
}
