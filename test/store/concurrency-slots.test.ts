import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { queuedRun } from './run-fixtures';

describe('concurrency slots', () => {
  const db = freshEachTest(startDynalite);

  async function slotItem(pk: string): Promise<{ count: number; holders: Record<string, string> } | undefined> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item as { count: number; holders: Record<string, string> } | undefined;
  }
  const newRunIds = (n: number) => Array.from({ length: n }, () => queuedRun().runId);

  it('Given a global cap of 5 and 200 runs over 10 repositories, When all acquire at once, Then exactly 5 hold a slot, the counter agrees with the holders and no losing run holds a repository slot', async () => {
    // Given a global cap of 5 and 200 runs spread over 10 repositories
    const runIds = newRunIds(200);
    // When all of them try to acquire at once
    const granted = await Promise.all(
      runIds.map((runId, i) => db.store.slots.acquire(runId, `acme/repo-${i % 10}`, { global: 5, perRepo: 5 })),
    );
    // Then exactly 5 hold a slot, and the counter agrees with the holders
    const winners = runIds.filter((_, i) => granted[i]);
    expect(winners).toHaveLength(5);
    expect(await db.store.slots.holders()).toEqual([...winners].sort());
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(5);
    // And no losing run holds a repository slot
    let repoCount = 0;
    for (let repo = 0; repo < 10; repo += 1) {
      const item = await slotItem(controlItemKey.repoSlot(`acme/repo-${repo}`));
      for (const holder of Object.keys(item?.holders ?? {})) expect(winners).toContain(holder);
      repoCount += item?.count ?? 0;
    }
    expect(repoCount).toBe(5);
  });

  it('Given a per-repo cap of 2, When 30 runs of one repository acquire at once, Then 2 hold slots, the refused ones hold no global slot either, and another repository still gets a slot', async () => {
    // Given a global cap of 10 and a per-repo cap of 2
    const caps = { global: 10, perRepo: 2 };
    const runIds = newRunIds(30);
    // When 30 runs of one repository acquire at once
    const granted = await Promise.all(runIds.map((runId) => db.store.slots.acquire(runId, 'acme/widgets', caps)));
    // Then 2 hold slots, and the refused ones hold no global slot either
    const winners = runIds.filter((_, i) => granted[i]);
    expect(winners).toHaveLength(2);
    expect(await db.store.slots.holders()).toEqual([...winners].sort());
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(2);
    expect((await slotItem(controlItemKey.repoSlot('acme/widgets')))?.count).toBe(2);
    // And another repository still gets a slot
    expect(await db.store.slots.acquire(newRunIds(1)[0], 'acme/gadgets', caps)).toBe(true);
  });

  it('Given a run that holds its slots, When it acquires again, Then it still holds them and each counter stays at one', async () => {
    const [runId] = newRunIds(1);
    expect(await db.store.slots.acquire(runId, 'acme/widgets', { global: 1, perRepo: 1 })).toBe(true);
    expect(await db.store.slots.acquire(runId, 'acme/widgets', { global: 1, perRepo: 1 })).toBe(true);
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(1);
    expect((await slotItem(controlItemKey.repoSlot('acme/widgets')))?.count).toBe(1);
  });

  it('Given two runs holding slots, When one is released twice and then five more times at once, Then only its own slot is freed', async () => {
    // Given two runs holding slots
    const [a, b] = newRunIds(2);
    await db.store.slots.acquire(a, 'acme/widgets', { global: 5, perRepo: 5 });
    await db.store.slots.acquire(b, 'acme/widgets', { global: 5, perRepo: 5 });
    // When one of them is released twice, and then five more times at once
    await db.store.slots.release(a, 'acme/widgets');
    await db.store.slots.release(a, 'acme/widgets');
    await Promise.all(Array.from({ length: 5 }, () => db.store.slots.release(a, 'acme/widgets')));
    // Then only its own slot was freed
    expect(await db.store.slots.holders()).toEqual([b]);
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(1);
    expect((await slotItem(controlItemKey.repoSlot('acme/widgets')))?.count).toBe(1);
  });

  it('Given one holder, When a run that holds nothing releases, on its repository or one never used, Then the semaphores are unchanged', async () => {
    // Given one holder
    const [holder, stranger] = newRunIds(2);
    await db.store.slots.acquire(holder, 'acme/widgets', { global: 5, perRepo: 5 });
    const before = { global: await slotItem(controlItemKey.globalSlot()), repo: await slotItem(controlItemKey.repoSlot('acme/widgets')) };
    // When a run that holds nothing releases, on the same repo and on one never used
    await db.store.slots.release(stranger, 'acme/widgets');
    await db.store.slots.release(stranger, 'acme/never-used');
    // Then the semaphores are unchanged
    expect(await slotItem(controlItemKey.globalSlot())).toEqual(before.global);
    expect(await slotItem(controlItemKey.repoSlot('acme/widgets'))).toEqual(before.repo);
    expect(await slotItem(controlItemKey.repoSlot('acme/never-used'))).toBeUndefined();
  });

  it('Given the only slot held and a run refused, When the holder releases, Then the refused run gets the slot', async () => {
    const [a, b] = newRunIds(2);
    expect(await db.store.slots.acquire(a, 'acme/widgets', { global: 1, perRepo: 1 })).toBe(true);
    expect(await db.store.slots.acquire(b, 'acme/widgets', { global: 1, perRepo: 1 })).toBe(false);
    await db.store.slots.release(a, 'acme/widgets');
    expect(await db.store.slots.acquire(b, 'acme/widgets', { global: 1, perRepo: 1 })).toBe(true);
    expect(await db.store.slots.holders()).toEqual([b]);
  });

  it('Given a repository slot held under one spelling of its name, When a run acquires it under another case, Then it is refused, as GitHub names are case-insensitive', async () => {
    const [a, b] = newRunIds(2);
    expect(await db.store.slots.acquire(a, 'Acme/Widgets', { global: 5, perRepo: 1 })).toBe(true);
    expect(await db.store.slots.acquire(b, 'acme/widgets', { global: 5, perRepo: 1 })).toBe(false);
  });
});
