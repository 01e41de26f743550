import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { RunId } from '../../core/runs/schemas';
import type { ConcurrencySlotsPort, SlotCaps, SlotOccupancy } from '../../core/store/ports';
import { controlItemKey } from './tables';
import { isConditionFailure } from './condition-failure';

/**
 * Concurrency semaphores, the AWS Step Functions concurrency-control pattern: one control item per
 * semaphore with a `count` and a `holders` map (run id -> acquired at). Acquire and release are single
 * conditional updates of that item, so any number of concurrent callers cannot exceed the cap, count a
 * holder twice or free a slot they do not hold. With `concurrency.perRequester` a run takes a third
 * semaphore, its requester's, in the same all-or-none way.
 */

const Caps = z
  .object({
    global: z.number().int().positive(),
    perRepo: z.number().int().positive(),
    perRequester: z.number().int().positive().optional(),
  })
  .strict();
const Requester = z.string().min(1).max(200);
const SlotItem = z.object({ count: z.number().int(), holders: z.record(z.string(), z.string()) });

export function createConcurrencySlots(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
): ConcurrencySlotsPort {
  async function readSlot(pk: string): Promise<z.infer<typeof SlotItem> | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }));
    return Item ? SlotItem.parse(Item) : undefined;
  }

  /** Creates the semaphore if absent (a holder cannot be added to a map that does not exist yet). */
  async function ensureSlot(pk: string): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk },
        UpdateExpression: 'SET #count = if_not_exists(#count, :zero), holders = if_not_exists(holders, :empty)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':zero': 0, ':empty': {} },
      }),
    );
  }

  /** Takes one slot of the semaphore for the run; true if the run holds it afterwards. */
  async function take(pk: string, runId: string, cap: number): Promise<boolean> {
    await ensureSlot(pk);
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk },
          ConditionExpression: '#count < :cap AND attribute_not_exists(holders.#run)',
          UpdateExpression: 'SET #count = #count + :one, holders.#run = :at',
          ExpressionAttributeNames: { '#count': 'count', '#run': runId },
          ExpressionAttributeValues: { ':cap': cap, ':one': 1, ':at': now().toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Refused: either full, or the run already holds this slot (a retried admission): idempotent.
    const slot = await readSlot(pk);
    return slot?.holders[runId] !== undefined;
  }

  /** Frees the run's slot if it holds one; the holder condition makes a second release a no-op. */
  async function give(pk: string, runId: string): Promise<void> {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk },
          ConditionExpression: 'attribute_exists(holders.#run)',
          UpdateExpression: 'SET #count = #count - :one REMOVE holders.#run',
          ExpressionAttributeNames: { '#count': 'count', '#run': runId },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  return {
    async acquire(runId: string, repo: string, caps: SlotCaps, requester?: string): Promise<boolean> {
      const id = RunId.parse(runId);
      const repoKey = controlItemKey.repoSlot(RepoName.parse(repo));
      const { global, perRepo, perRequester } = Caps.parse(caps);
      if (perRequester !== undefined && requester === undefined) throw new Error("a per-requester cap needs the run's requester");
      if (!(await take(controlItemKey.globalSlot(), id, global))) return false;
      if (!(await take(repoKey, id, perRepo))) {
        // The repository is full: give the global slot back, so the run holds all or none.
        await give(controlItemKey.globalSlot(), id);
        return false;
      }
      if (perRequester === undefined || (await take(controlItemKey.requesterSlot(Requester.parse(requester)), id, perRequester)))
        return true;
      // The requester is at their cap: give the other two back.
      await give(repoKey, id);
      await give(controlItemKey.globalSlot(), id);
      return false;
    },
    async release(runId: string, repo: string, requester?: string): Promise<void> {
      const id = RunId.parse(runId);
      if (requester !== undefined) await give(controlItemKey.requesterSlot(Requester.parse(requester)), id);
      await give(controlItemKey.repoSlot(RepoName.parse(repo)), id);
      await give(controlItemKey.globalSlot(), id);
    },
    async occupancy(repos: readonly string[], requesters: readonly string[]): Promise<SlotOccupancy> {
      const countOf = async (pk: string) => {
        const slot = await readSlot(pk);
        return slot ? Object.keys(slot.holders).length : 0;
      };
      const uniqueRepos = [...new Set(repos.map((r) => RepoName.parse(r).toLowerCase()))];
      const uniqueRequesters = [...new Set(requesters.map((r) => Requester.parse(r)))];
      const [global, repoCounts, requesterCounts] = await Promise.all([
        countOf(controlItemKey.globalSlot()),
        Promise.all(uniqueRepos.map(async (r) => [r, await countOf(controlItemKey.repoSlot(r))] as const)),
        Promise.all(uniqueRequesters.map(async (r) => [r, await countOf(controlItemKey.requesterSlot(r))] as const)),
      ]);
      return { global, repos: Object.fromEntries(repoCounts), requesters: Object.fromEntries(requesterCounts) };
    },
    async holders(): Promise<string[]> {
      const slot = await readSlot(controlItemKey.globalSlot());
      return Object.keys(slot?.holders ?? {}).sort();
    },
    async semaphoreHolders(repo: string | null): Promise<string[]> {
      const slot = await readSlot(repo === null ? controlItemKey.globalSlot() : controlItemKey.repoSlot(RepoName.parse(repo)));
      return Object.keys(slot?.holders ?? {}).sort();
    },
    async releaseSemaphore(runId: string, repo: string | null): Promise<void> {
      await give(repo === null ? controlItemKey.globalSlot() : controlItemKey.repoSlot(RepoName.parse(repo)), RunId.parse(runId));
    },
  };
}
