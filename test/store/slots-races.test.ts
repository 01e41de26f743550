import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createConcurrencySlots } from '../../adapters/dynamodb/concurrency-slots';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { type CommandMatch, withFaults } from '../support/dynamo-faults';
import { queuedRun } from './run-fixtures';

/** The concurrency slots under faults and races (dynalite), and the per-semaphore view the slot reconciler uses. */
describe('concurrency slots under faults and races', () => {
  const db = freshEachTest(startDynalite);

  const clock = () => new Date('2030-05-06T07:08:09.000Z');
  const caps = { global: 3, perRepo: 2 };
  const runId = () => queuedRun().runId;
  async function slotItem(pk: string): Promise<{ count: number; holders: Record<string, string> } | undefined> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item as { count: number; holders: Record<string, string> } | undefined;
  }
  const takeOn = (pk: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    key: { pk },
    where: (input) => String(input.ConditionExpression).includes('#count < :cap'),
  });
  const giveOn = (pk: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    key: { pk },
    where: (input) => input.ConditionExpression === 'attribute_exists(holders.#run)',
  });

  it('Given runs in two repositories, When the holders of one semaphore are asked for, Then a repository answers its own holders and null answers the global ones, sorted', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control, clock);
    const [a, b, c] = [runId(), runId(), runId()].sort().reverse();
    await slots.acquire(a, 'acme/one', caps);
    await slots.acquire(b, 'acme/two', caps);
    await slots.acquire(c, 'Acme/One', caps);
    expect(await slots.semaphoreHolders('acme/one')).toEqual([a, c].sort());
    expect(await slots.semaphoreHolders('acme/two')).toEqual([b]);
    expect(await slots.semaphoreHolders('acme/none')).toEqual([]);
    expect(await slots.semaphoreHolders(null)).toEqual([a, b, c].sort());
    expect(await slots.holders()).toEqual([a, b, c].sort());
    // Each holder records when it took the slot.
    expect((await slotItem(controlItemKey.repoSlot('acme/one')))?.holders).toEqual({
      [a]: clock().toISOString(),
      [c]: clock().toISOString(),
    });
  });

  it('Given a run holding its slots, When one semaphore is released for it, Then only that semaphore frees its place, once', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control, clock);
    const [a, b] = [runId(), runId()];
    await slots.acquire(a, 'acme/one', caps);
    await slots.acquire(b, 'acme/one', caps);
    await slots.releaseSemaphore(a, 'acme/one');
    await slots.releaseSemaphore(a, 'acme/one');
    expect(await slots.semaphoreHolders('acme/one')).toEqual([b]);
    expect(await slots.semaphoreHolders(null)).toEqual([a, b].sort());
    await slots.releaseSemaphore(a, null);
    expect(await slots.semaphoreHolders(null)).toEqual([b]);
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(1);
    expect((await slotItem(controlItemKey.repoSlot('acme/one')))?.count).toBe(1);
  });

  it('Given holders in repositories and of requesters, When occupancy is asked, Then each is counted once, repositories by their lower-case name', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control, clock);
    await slots.acquire(runId(), 'acme/one', { ...caps, perRequester: 2 }, 'ada');
    await slots.acquire(runId(), 'acme/one', { ...caps, perRequester: 2 }, 'bob');
    await slots.acquire(runId(), 'acme/two', { ...caps, perRequester: 2 }, 'ada');
    expect(await slots.occupancy(['Acme/One', 'acme/one', 'acme/two', 'acme/three'], ['ada', 'bob', 'ada', 'cy'])).toEqual({
      global: 3,
      repos: { 'acme/one': 2, 'acme/two': 1, 'acme/three': 0 },
      requesters: { ada: 2, bob: 1, cy: 0 },
    });
  });

  it('Given a requester at their cap, When their next run acquires, Then it is refused and gives back its repository and global slots', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control, clock);
    const first = runId();
    const second = runId();
    expect(await slots.acquire(first, 'acme/one', { global: 5, perRepo: 5, perRequester: 1 }, 'ada')).toBe(true);
    expect(await slots.acquire(second, 'acme/two', { global: 5, perRepo: 5, perRequester: 1 }, 'ada')).toBe(false);
    expect(await slots.holders()).toEqual([first]);
    expect(await slots.semaphoreHolders('acme/two')).toEqual([]);
    expect((await slotItem(controlItemKey.requesterSlot('ada')))?.holders).toEqual({ [first]: clock().toISOString() });
    // And releasing with the requester frees all three.
    await slots.release(first, 'acme/one', 'ada');
    expect(await slots.occupancy(['acme/one'], ['ada'])).toEqual({ global: 0, repos: { 'acme/one': 0 }, requesters: { ada: 0 } });
  });

  it('Given a per-requester cap, When a run without a requester acquires, Then it is an error and nothing is taken', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control, clock);
    await expect(slots.acquire(runId(), 'acme/one', { ...caps, perRequester: 1 })).rejects.toThrow(/per-requester cap needs/);
    expect(await slots.holders()).toEqual([]);
  });

  it('Given a throttled take on the repository semaphore, When a run acquires, Then the throttle is thrown, not read as a full semaphore', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const throttle = faults.throttle(takeOn(controlItemKey.repoSlot('acme/one')));
    const run = runId();
    await expect(slots.acquire(run, 'acme/one', caps)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(throttle.fired).toBe(1);
    expect(await slots.semaphoreHolders('acme/one')).toEqual([]);
  });

  it('Given a throttled give, When a run releases, Then the throttle is thrown and a retried release frees the slot once', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const run = runId();
    await slots.acquire(run, 'acme/one', caps);
    faults.throttle(giveOn(controlItemKey.repoSlot('acme/one')));
    await expect(slots.release(run, 'acme/one')).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(await slots.semaphoreHolders('acme/one')).toEqual([run]);
    await slots.release(run, 'acme/one');
    await slots.release(run, 'acme/one');
    expect((await slotItem(controlItemKey.repoSlot('acme/one')))?.count).toBe(0);
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(0);
  });

  it('Given one global slot left, When another run takes it between the ensure and the take, Then the run is refused and holds nothing', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const rival = runId();
    const run = runId();
    const race = faults.before(takeOn(controlItemKey.globalSlot()), async (real) => {
      expect(await createConcurrencySlots(real, db.names.control, clock).acquire(rival, 'acme/two', { global: 1, perRepo: 1 })).toBe(true);
    });
    expect(await slots.acquire(run, 'acme/one', { global: 1, perRepo: 1 })).toBe(false);
    expect(race.fired).toBe(1);
    expect(await slots.holders()).toEqual([rival]);
    expect(await slots.semaphoreHolders('acme/one')).toEqual([]);
  });

  it('Given a run whose admission is retried while another admission of it takes the slots, Then it holds each slot once', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const run = runId();
    const race = faults.before(takeOn(controlItemKey.globalSlot()), async (real) => {
      expect(await createConcurrencySlots(real, db.names.control, clock).acquire(run, 'acme/one', { global: 1, perRepo: 1 })).toBe(true);
    });
    expect(await slots.acquire(run, 'acme/one', { global: 1, perRepo: 1 })).toBe(true);
    expect(race.fired).toBe(1);
    expect((await slotItem(controlItemKey.globalSlot()))?.count).toBe(1);
    expect((await slotItem(controlItemKey.repoSlot('acme/one')))?.count).toBe(1);
  });
  it('Given a semaphore removed between the ensure and the take, When a run acquires, Then it is refused and holds nothing, without an error', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const run = runId();
    const race = faults.before(takeOn(controlItemKey.globalSlot()), async (real) => {
      await real.send(new DeleteCommand({ TableName: db.names.control, Key: { pk: controlItemKey.globalSlot() } }));
    });
    expect(await slots.acquire(run, 'acme/one', caps)).toBe(false);
    expect(race.fired).toBe(1);
    expect(await slots.holders()).toEqual([]);
    expect(await slots.semaphoreHolders('acme/one')).toEqual([]);
  });

  it('Given slots taken, refused and counted, When the store reads a semaphore, Then every read is strongly consistent (a holder just written is seen)', async () => {
    const faults = withFaults(db.doc);
    const slots = createConcurrencySlots(faults.doc, db.names.control, clock);
    const [a, b] = [runId(), runId()];
    await slots.acquire(a, 'acme/one', { global: 1, perRepo: 1 });
    expect(await slots.acquire(b, 'acme/one', { global: 1, perRepo: 1 })).toBe(false);
    await slots.occupancy(['acme/one'], []);
    await slots.holders();
    await slots.semaphoreHolders('acme/one');
    const reads = { command: GetCommand, table: db.names.control };
    expect(faults.sentCount(reads)).toBeGreaterThanOrEqual(5);
    expect(faults.sentCount({ ...reads, where: (input) => input.ConsistentRead !== true })).toBe(0);
  });

  it('Given no clock is passed, When a run takes its slots, Then each holder records the moment it took them as an ISO timestamp', async () => {
    const slots = createConcurrencySlots(db.doc, db.names.control);
    const run = runId();
    expect(await slots.acquire(run, 'acme/one', caps)).toBe(true);
    const at = (await slotItem(controlItemKey.globalSlot()))?.holders[run];
    expect(typeof at).toBe('string');
    expect(new Date(String(at)).toISOString()).toBe(at);
  });
});
