import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../../adapters/dynamodb';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { admitRun, queuePosition, SLOT_WAIT_REASON, type AdmissionDeps } from '../../core/runs/admission';
import { finalizeRun } from '../../core/runs/finalize';
import type { RunPriority } from '../../core/runs/schemas';
import { submitRun } from '../../core/runs/submit';
import { withFaults } from '../support/dynamo-faults';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { answeredResume } from '../support/answered-resume';
import { prOpenedInput } from '../support/finalize-inputs';
import { stackFixture, testConfig } from '../support/test-config';
import { admissionDepsOf } from '../support/admission-deps';

/**
 * The paths of admission (core/runs/admission.ts) a plain admit-and-queue does not walk, over dynalite:
 * a thread's runs one at a time, the requester's review places, the token and the place a waiting run
 * keeps, the queue moves it announces, the capacity it launches on, and the races and DynamoDB faults
 * between its reads and its writes (a run that ends in between, a throttled write). Each test on a
 * fresh dynalite, so slots and queue entries of one never hold back another.
 */
const db = freshEachTest(startDynalite);

const config = testConfig(stackFixture);
const now = new Date('2030-06-01T01:00:00.000Z');
const stopRunTasks = async () => undefined;

async function submitted(options: { repo?: string; requester?: string; priority?: RunPriority; thread?: string } = {}): Promise<string> {
  const { runId } = await submitRun(
    {
      config,
      ...db.store,
      threads: createThreadStore(db.doc, db.names.control),
      stopRunTasks,
      startExecution: async () => undefined,
      now: () => new Date(now.getTime() - 60_000),
    },
    {
      request: { repo: options.repo ?? 'acme/web', prompt: 'Tidy the README', ...(options.priority ? { priority: options.priority } : {}) },
      requester: options.requester ?? 'bob',
      source: 'cli',
      ...(options.thread ? { thread: options.thread } : {}),
    },
  );
  return runId;
}

const deps = (overrides: Partial<AdmissionDeps> = {}): AdmissionDeps => admissionDepsOf(db.store, { now: () => now, ...overrides });

/** Admission over a document client that can run a competing write before a command or throttle one. */
function faulty() {
  const faults = withFaults(db.doc);
  const store = createStore(faults.doc, db.names);
  const over = (overrides: Partial<AdmissionDeps> = {}) =>
    deps({ runs: store.runs, queue: store.queue, events: store.events, slots: store.slots, runKeys: store.runKeys, ...overrides });
  return { faults, deps: over };
}

/** A run that holds the only slot (global 1, per repository 1), so the next ones wait. */
async function slotHolder(): Promise<string> {
  const holder = await submitted({ repo: 'acme/api' });
  expect((await admitRun(deps(), holder)).decision).toBe('admitted');
  return holder;
}

/** The terminal write of a Finalize whose clean-up (slots, queue entry) ran before admission's writes. */
const endedByFinalize = (runId: string) => db.store.runs.transition(runId, 'CANCELLED', { error: { code: 'cancelled', message: 'c' } });

const isStartingWrite = (input: Record<string, unknown>) => String(input.UpdateExpression).includes('#status = :to');
const isRunKeyWrite = (input: Record<string, unknown>) => input.UpdateExpression === 'SET #hash = :hash';

describe('admission of a run that cannot start', () => {
  it('Given a run that already ended FAILED, When it is admitted, Then it answers ended and writes no slot, not even for a moment', async () => {
    const runId = await submitted();
    await db.store.runs.transition(runId, 'STARTING');
    await db.store.runs.transition(runId, 'FAILED', { error: { code: 'runner_lost', message: 'lost' } });
    const { faults, deps: faultyDeps } = faulty();
    expect(await admitRun(faultyDeps(), runId)).toEqual({ decision: 'ended', queuePosition: null });
    expect(faults.sentCount({ command: UpdateCommand, table: db.names.control })).toBe(0);
  });

  it('Given an admitted run and a retried Admit whose read of it is stale, When its second read finds the run ended by Finalize, Then it answers ended and writes no run key', async () => {
    const runId = await submitted();
    expect((await admitRun(deps(), runId)).decision).toBe('admitted');
    const stale = await db.store.runs.get(runId);
    await finalizeRun({ ...db.store, stopRunTasks }, { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'c' } });
    const { faults, deps: faultyDeps } = faulty();
    const fresh = faultyDeps().runs;
    let reads = 0;
    const runs = { ...fresh, get: async (id: string) => (reads++ === 0 ? stale : fresh.get(id)) };
    expect(await admitRun(faultyDeps({ runs }), runId)).toEqual({ decision: 'ended', queuePosition: null });
    expect(reads).toBe(2);
    expect(faults.sentCount({ command: UpdateCommand, table: db.names.runs })).toBe(0);
    expect(await db.store.slots.holders()).not.toContain(runId);
  });

  it('Given a run that Finalize ends between its STARTING write and its run key, When it is admitted, Then it answers ended and gives back the slots it took', async () => {
    const runId = await submitted();
    const { faults, deps: faultyDeps } = faulty();
    const raced = faults.before({ command: UpdateCommand, table: db.names.runs, key: { runId }, where: isRunKeyWrite }, () =>
      endedByFinalize(runId).then(() => undefined),
    );
    expect(await admitRun(faultyDeps(), runId)).toEqual({ decision: 'ended', queuePosition: null });
    expect(raced.fired).toBe(1);
    expect(await db.store.slots.holders()).not.toContain(runId);
    expect(await db.store.slots.semaphoreHolders('acme/web')).not.toContain(runId);
  });

  it('Given a throttled run key write, When a run with a free slot is admitted, Then the fault reaches the caller (the state machine retries) and the run is not reported ended', async () => {
    const runId = await submitted();
    const { faults, deps: faultyDeps } = faulty();
    const throttled = faults.throttle({ command: UpdateCommand, table: db.names.runs, key: { runId }, where: isRunKeyWrite });
    await expect(admitRun(faultyDeps(), runId)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(throttled.fired).toBe(1);
    expect((await db.store.runs.get(runId))?.status).toBe('STARTING');
  });

  it('Given a throttled STARTING write, When a run with a free slot is admitted, Then the fault reaches the caller and the run is still QUEUED', async () => {
    const runId = await submitted();
    const { faults, deps: faultyDeps } = faulty();
    const throttled = faults.throttle({ command: UpdateCommand, table: db.names.runs, key: { runId }, where: isStartingWrite });
    await expect(admitRun(faultyDeps(), runId)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(throttled.fired).toBe(1);
    expect((await db.store.runs.get(runId))?.status).toBe('QUEUED');
  });
});

describe('a run that waits', () => {
  it('Given the only slot taken, When two runs are admitted, Then each waits for a slot with its place on the run and an entry a freed slot wakes; When the slot frees and the first is admitted, Then it leaves the queue, its place and reason are cleared, its timeline says it started, and the other moves up', async () => {
    const holder = await slotHolder();
    const first = await submitted();
    const second = await submitted();
    expect(await admitRun(deps(), first)).toEqual({ decision: 'queued', queuePosition: 1 });
    expect(await admitRun(deps(), second)).toEqual({ decision: 'queued', queuePosition: 2 });
    expect(await db.store.runs.get(first)).toMatchObject({ queuePosition: 1, queueReason: SLOT_WAIT_REASON });
    expect(await db.store.runs.get(second)).toMatchObject({ queuePosition: 2, queueReason: SLOT_WAIT_REASON });
    expect((await db.store.queue.head(10)).map((e) => [e.runId, e.held])).toEqual([
      [first, false],
      [second, false],
    ]);
    expect(await db.store.slots.holders()).toEqual([holder]);

    await db.store.slots.release(holder, 'acme/api', 'bob');
    expect(await admitRun(deps(), first)).toMatchObject({ decision: 'admitted' });
    expect(await db.store.runs.get(first)).toMatchObject({ status: 'STARTING', queuePosition: null, queueReason: null });
    expect((await db.store.queue.head(10)).map((e) => e.runId)).toEqual([second]);
    expect(await db.store.queue.position(second, 'normal')).toBe(1);
    const { events } = await db.store.events.list(first, { limit: 50 });
    expect(events.filter((e) => e.type === 'status').at(-1)).toMatchObject({
      message: 'QUEUED → STARTING: admitted, starting the runner',
      detail: { from: 'QUEUED', to: 'STARTING' },
    });
  });

  it('Given two runs waiting for the only slot and the slot just freed, When the run behind is admitted first, Then it waits in its place without the slot', async () => {
    const holder = await slotHolder();
    const ahead = await submitted({ repo: 'acme/web' });
    const behind = await submitted({ repo: 'acme/web' });
    expect((await admitRun(deps({ caps: { global: 1, perRepo: 2 } }), ahead)).decision).toBe('queued');
    expect((await admitRun(deps({ caps: { global: 1, perRepo: 2 } }), behind)).decision).toBe('queued');
    await db.store.slots.release(holder, 'acme/api', 'bob');
    expect(await admitRun(deps({ caps: { global: 1, perRepo: 2 } }), behind)).toEqual({ decision: 'queued', queuePosition: 2 });
    expect(await db.store.slots.holders()).toEqual([]);
  });

  it("Given a run waiting with its Admit state's token, When a waker takes the token and the run finds no slot again, Then the answer says when it was woken and the run waits on its new token", async () => {
    await slotHolder();
    const runId = await submitted();
    expect(await admitRun(deps(), runId, undefined, 'token-1')).toEqual({ decision: 'queued', queuePosition: 1, wokenAt: null });
    const wokenAt = new Date(now.getTime() - 1_000).toISOString();
    expect(await db.store.queue.claim(runId, wokenAt)).toBe('token-1');
    expect(await admitRun(deps(), runId, undefined, 'token-2')).toEqual({ decision: 'queued', queuePosition: 1, wokenAt });
    expect(await db.store.queue.claim(runId, now.toISOString())).toBe('token-2');
  });

  it('Given runs waiting for the only slot, When a high-priority run lands ahead of them, Then the queue move is announced once; When a waiting run is admitted again, Then nothing is announced', async () => {
    await slotHolder();
    let announced = 0;
    const announcing = deps({ announceQueueMoved: async () => void announced++ });
    const first = await submitted();
    await admitRun(announcing, first);
    await admitRun(announcing, await submitted());
    expect(announced).toBe(0);
    const urgent = await submitted({ priority: 'high' });
    expect(await admitRun(announcing, urgent)).toEqual({ decision: 'queued', queuePosition: 1 });
    expect(announced).toBe(1);
    expect(await admitRun(announcing, first)).toEqual({ decision: 'queued', queuePosition: 2 });
    expect(announced).toBe(1);
  });

  it('Given a normal and a high-priority run waiting, Then their queue positions as people see them put the high-priority run first', async () => {
    await slotHolder();
    const normal = await submitted();
    const urgent = await submitted({ priority: 'high' });
    await admitRun(deps(), normal);
    await admitRun(deps(), urgent);
    expect(await queuePosition(db.store.queue, (await db.store.runs.get(urgent))!)).toBe(1);
    expect(await queuePosition(db.store.queue, (await db.store.runs.get(normal))!)).toBe(2);
  });

  it('Given a run about to wait, When Finalize ends it between its queue entry and the write of its place, Then admission takes the entry out again and answers ended', async () => {
    await slotHolder();
    const runId = await submitted();
    const { faults, deps: faultyDeps } = faulty();
    const raced = faults.before({ command: UpdateCommand, table: db.names.runs, key: { runId } }, () =>
      endedByFinalize(runId).then(() => undefined),
    );
    expect(await admitRun(faultyDeps(), runId, undefined, 'token-1')).toEqual({ decision: 'ended', queuePosition: null });
    expect(raced.fired).toBe(1);
    expect(await db.store.queue.head(10)).toEqual([]);
  });

  it('Given a throttled write of its place, When a run that must wait is admitted, Then the fault reaches the caller', async () => {
    await slotHolder();
    const runId = await submitted();
    const { faults, deps: faultyDeps } = faulty();
    const throttled = faults.throttle({ command: UpdateCommand, table: db.names.runs, key: { runId } });
    await expect(admitRun(faultyDeps(), runId)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(throttled.fired).toBe(1);
    expect((await db.store.runs.get(runId))?.status).toBe('QUEUED');
  });
});

describe('the capacity an admitted run launches on', () => {
  it('Given a run admitted for Spot, Then it launches on Spot; Given a run that automatic resumes moved to regular Fargate, Then it launches on regular Fargate whatever the execution asks', async () => {
    const spot = await submitted();
    expect(await admitRun(deps({ caps: { global: 5, perRepo: 5 } }), spot, 'FARGATE_SPOT')).toMatchObject({
      decision: 'admitted',
      capacityProvider: 'FARGATE_SPOT',
    });
    const moved = await submitted();
    await db.store.runs.patch(moved, {
      automaticResumes: { count: 1, capacityProvider: 'FARGATE', lastKey: 'lost:1', lastCause: 'the Spot task was reclaimed' },
    });
    expect(await admitRun(deps({ caps: { global: 5, perRepo: 5 } }), moved, 'FARGATE_SPOT')).toMatchObject({
      decision: 'admitted',
      capacityProvider: 'FARGATE',
    });
  });
});

describe('the runs of a GitHub thread', () => {
  const thread = 'acme/web#1';
  const threads = () => createThreadStore(db.doc, db.names.control);

  it('Given two runs of one thread, When the younger is admitted while the older is starting, Then it waits, held (a freed slot does not wake it), with the older run as its reason, and takes no slot', async () => {
    const older = await submitted({ thread });
    const younger = await submitted({ thread });
    const caps = { global: 5, perRepo: 5 };
    expect(await admitRun(deps({ threads: threads(), caps }), older)).toMatchObject({ decision: 'admitted' });
    expect(await admitRun(deps({ threads: threads(), caps }), younger)).toEqual({ decision: 'queued', queuePosition: 1 });
    expect(await db.store.runs.get(younger)).toMatchObject({ queueReason: `waiting for run ${older} of its thread` });
    expect(await db.store.queue.head(10)).toEqual([expect.objectContaining({ runId: younger, held: true })]);
    expect(await db.store.slots.holders()).toEqual([older]);
  });

  it('Given a run of a thread, When it is admitted without the thread store, Then it is an error naming what is missing', async () => {
    const runId = await submitted({ thread });
    await expect(admitRun(deps(), runId)).rejects.toThrow('admitting a run of a GitHub thread needs the thread store');
  });
});

describe("the requester's review places", () => {
  const backlog = (max: number | undefined) => ({ maxOpenPrsPerRequester: max, inbox: db.store.inbox, places: db.store.reviewPlaces });
  const caps = { global: 5, perRepo: 5 };

  /** A run of the requester that ended with a pull request awaiting review (its pr_ready item is open). */
  async function pullRequestAwaitingReview(requester: string): Promise<void> {
    const runId = await submitted({ requester });
    await db.store.runs.transition(runId, 'STARTING');
    await db.store.runs.transition(runId, 'RUNNING');
    await finalizeRun({ ...db.store, stopRunTasks }, prOpenedInput(runId, 7));
  }

  it('Given a requester with a pull request awaiting review and a limit of one, When their new run is admitted, Then it waits, held, with the review as its reason, and takes no slot', async () => {
    await pullRequestAwaitingReview('dave');
    const runId = await submitted({ requester: 'dave' });
    expect(await admitRun(deps({ caps, reviewBacklog: backlog(1) }), runId)).toEqual({ decision: 'queued', queuePosition: 1 });
    expect((await db.store.runs.get(runId))?.queueReason).toMatch(/^waiting for review: dave has 1 pull request awaiting review \(/);
    expect(await db.store.queue.head(10)).toEqual([expect.objectContaining({ runId, held: true })]);
    expect(await db.store.slots.holders()).not.toContain(runId);
  });

  it('Given a requester with a pull request awaiting review, When their run resumed after a pause is admitted under a limit of one, Then it starts', async () => {
    await pullRequestAwaitingReview('frank');
    const runId = await submitted({ requester: 'frank' });
    await db.store.runs.patch(runId, { resume: answeredResume(now.toISOString()) });
    expect(await admitRun(deps({ caps, reviewBacklog: backlog(1) }), runId)).toMatchObject({ decision: 'admitted' });
  });

  it('Given a limit of one, When a run is admitted, Then it takes a review place; Given no limit set, When a run is admitted, Then it starts without taking one', async () => {
    const limited = await submitted({ requester: 'gina' });
    expect(await admitRun(deps({ caps, reviewBacklog: backlog(1) }), limited)).toMatchObject({ decision: 'admitted' });
    expect((await db.store.reviewPlaces.read('gina')).places).toEqual([limited]);
    const unlimited = await submitted({ requester: 'hana' });
    expect(await admitRun(deps({ caps, reviewBacklog: backlog(undefined) }), unlimited)).toMatchObject({ decision: 'admitted' });
    expect((await db.store.reviewPlaces.read('hana')).places).toEqual([]);
  });

  it('Given a limit of one and the only slot taken, When a run is admitted, Then it waits for a slot and gives back the review place it took', async () => {
    await slotHolder();
    const runId = await submitted({ requester: 'lena' });
    expect(await admitRun(deps({ reviewBacklog: backlog(1) }), runId)).toEqual({ decision: 'queued', queuePosition: 1 });
    expect((await db.store.runs.get(runId))?.queueReason).toBe(SLOT_WAIT_REASON);
    expect((await db.store.reviewPlaces.read('lena')).places).toEqual([]);
  });
});
