import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InboxItemView } from '../../core/inbox/inbox-item';
import { actOnForge, ended, sampleRepo, startGithubTestPlatform, untilStatus, type TestPlatform } from './platform-harness';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';

/**
 * Issue 13 items 2 and 5 in local mode: a looping replayed session pauses as `stuck` and a hint resumes
 * it; the PR it opens leaves a `pr_ready` item that holds the requester's next run QUEUED
 * (`concurrency.maxOpenPrsPerRequester: 1`) until the PR is merged on the local forge; a failed run
 * leaves a `failed` item that is dismissed.
 */
describe('local mode: stuck, pr_ready, failed and the review backlog', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    const base = localFixture();
    t = await startGithubTestPlatform(join(__dirname, 'fixtures', 'stuck-then-demo.jsonl'), {
      ...base,
      concurrency: { ...base.concurrency, maxOpenPrsPerRequester: 1 },
    });
  }, 240_000);
  afterAll(() => t?.stop());

  const itemsOf = async (runId: string, type: InboxItemView['type']) =>
    (await t.client.inbox({ state: 'all', type })).items.filter((i) => i.runId === runId);
  let first: { runId: string; prUrl: string };
  /** What local SNS wrote to the outbox (the e-mail subscribers' copy) about one item. */
  const announced = (itemId: string) => {
    const outbox = join(t.home.logs, 'notifications.jsonl');
    if (!existsSync(outbox)) return [];
    const lines = readFileSync(outbox, 'utf8').trim().split('\n').filter(Boolean);
    return lines
      .map((l) => JSON.parse(l) as { subject: string; message: string; attributes: Record<string, string> })
      .filter((m) => m.attributes.itemId === itemId);
  };

  it('Given an agent that runs the same failing tests three times, When the runner sees it, Then the run pauses stuck, and a hint resumes it to its PR, which leaves a pr_ready item', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const waiting = await untilStatus(
      t.client,
      submitted.runId,
      (r) => r.status === 'WAITING_FOR_HUMAN' || ended(r),
      'the run to pause',
      120_000,
    );
    expect(waiting.status).toBe('WAITING_FOR_HUMAN');
    expect(await t.platform.store.slots.holders()).toEqual([]);
    const [stuck] = await itemsOf(submitted.runId, 'stuck');
    expect(stuck).toMatchObject({
      state: 'open',
      details: { kind: 'repeated_failure', tool: 'shell', step: 'npm test', times: 3, turn: 3, branch: waiting.branch },
    });
    expect(stuck!.message).toMatch(/^The agent ran the same failing step 3 times with the same result: npm test\./);
    // A stuck item takes an answer (the hint), nothing else.
    await expect(t.client.resolveInboxItem(stuck!.itemId, { action: 'approve' })).rejects.toMatchObject({ status: 400 });

    await t.client.resolveInboxItem(stuck!.itemId, {
      action: 'answer',
      answer: 'The tests want runs of separators collapsed: read src/slugify.js.',
    });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the resumed run to end', 150_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', branch: waiting.branch });
    const { events } = await t.client.events(submitted.runId, { limit: 500 });
    expect(events.some((e) => /resumed after the stuck was answered; the conversation goes on from turn 4/.test(e.message))).toBe(true);

    const ready = await eventually(async () => (await itemsOf(submitted.runId, 'pr_ready'))[0], 'the pr_ready item', 60_000);
    expect(ready).toMatchObject({ state: 'open', requester: run.requester, details: { prUrl: run.prUrl, branch: run.branch } });
    // Announced on the inbox topic by Finalize, once, with the e-mail text and no PR link or summary.
    const [mail] = await eventually(
      async () => (announced(ready.itemId).length > 0 ? announced(ready.itemId) : undefined),
      'the pr_ready announcement',
      30_000,
    );
    expect(announced(ready.itemId)).toHaveLength(1);
    expect(announced(stuck!.itemId)).toHaveLength(1);
    expect(mail!.attributes).toEqual({ event: 'item_created', itemId: ready.itemId, type: 'pr_ready' });
    expect(mail!.subject).toBe(`Nightshift: run ${run.runId} on ${sampleRepo} has a pull request ready for review`);
    expect(mail!.message).toContain(`Resolve:    nightshift dismiss ${ready.itemId}`);
    expect(mail!.message).toContain('Merging or closing the pull request on GitHub closes this item too');
    expect(mail!.message).not.toContain(run.prUrl!);
    for (const wrong of [{ action: 'answer', answer: 'x' }, { action: 'approve' }, { action: 'reject' }] as const) {
      await expect(t.client.resolveInboxItem(ready.itemId, wrong)).rejects.toMatchObject({ status: 400 });
    }
    first = { runId: submitted.runId, prUrl: run.prUrl! };
  }, 300_000);

  it('Given one open pr_ready item and maxOpenPrsPerRequester 1, When the requester submits again, Then the run waits QUEUED with the reason until the PR is merged', async () => {
    const second = await t.client.submit({ repo: sampleRepo, prompt: 'Another change.' });
    const queued = await untilStatus(
      t.client,
      second.runId,
      (r) => r.queueReason !== null || r.status !== 'QUEUED',
      'the run to show why it waits',
      60_000,
    );
    expect(queued).toMatchObject({
      status: 'QUEUED',
      queuePosition: 1,
      queueReason: expect.stringMatching(
        /^waiting for review: local:tester has 1 pull request awaiting review \(concurrency\.maxOpenPrsPerRequester is 1\)/,
      ),
    });
    expect(await t.platform.store.slots.holders()).toEqual([]);

    // Alice merges the PR on the local forge, which delivers pull_request.closed (merged) to the webhook route.
    const pr = Number(/\/pull\/(\d+)$/.exec(first.prUrl)![1]);
    await actOnForge(t)('alice', 'PUT', `/pulls/${pr}/merge`, {}, 200);
    const closed = await eventually(
      async () => (await itemsOf(first.runId, 'pr_ready')).find((i) => i.state === 'resolved'),
      'the pr_ready item to close',
      30_000,
    );
    expect(closed).toMatchObject({ resolvedBy: 'nightshift', resolution: { action: 'closed', answer: null, pullRequest: 'merged' } });
    await expect(t.client.resolveInboxItem(closed.itemId, { action: 'dismiss' })).rejects.toMatchObject({ status: 409 });

    // The queue sweep re-checks the held run and lets it start.
    const admitted = await untilStatus(t.client, second.runId, (r) => r.status !== 'QUEUED', 'the held run to be admitted', 60_000);
    expect(admitted.queueReason).toBeNull();
    await t.client.cancel(second.runId);
    await untilStatus(t.client, second.runId, ended, 'the second run to end', 60_000);
  }, 200_000);

  it('Given a run that fails, When it ends, Then it leaves a failed item with its error, which dismiss resolves', async () => {
    // Each runner reads the configuration file again at its start: a bad one makes the next runner die.
    writeFileSync(join(t.home.root, 'nightshift.config.json'), '{ not a configuration');
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to fail', 60_000);
    expect(run.status).toBe('FAILED');
    const failed = await eventually(async () => (await itemsOf(submitted.runId, 'failed'))[0], 'the failed item', 60_000);
    expect(failed).toMatchObject({
      state: 'open',
      message: `The run ended FAILED: ${run.error!.message}`,
      details: { status: 'FAILED', error: { code: run.error!.code } },
    });
    const mails = await eventually(
      async () => (announced(failed.itemId).length > 0 ? announced(failed.itemId) : undefined),
      'the failed announcement',
      30_000,
    );
    expect(mails).toEqual([
      expect.objectContaining({
        subject: `Nightshift: run ${run.runId} on ${sampleRepo} failed`,
        attributes: { event: 'item_created', itemId: failed.itemId, type: 'failed' },
      }),
    ]);
    expect(mails[0]!.message).toContain(`Resolve:    nightshift dismiss ${failed.itemId}`);
    expect(mails[0]!.message).not.toContain(run.error!.message);
    await expect(t.client.resolveInboxItem(failed.itemId, { action: 'answer', answer: 'ok' })).rejects.toMatchObject({ status: 400 });
    const dismissed = await t.client.resolveInboxItem(failed.itemId, { action: 'dismiss' });
    expect(dismissed).toMatchObject({ state: 'resolved', resolution: { action: 'dismiss', answer: null } });
    expect(await t.client.resolveInboxItem(failed.itemId, { action: 'dismiss' })).toMatchObject({ state: 'resolved' });
  }, 90_000);
});
