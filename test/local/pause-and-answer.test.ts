import { join } from 'node:path';
import { listPulls } from '../../local/forge';
import { ended, sampleRepo, startTestPlatform, until, untilStatus, type TestPlatform } from './platform-harness';

/** Local mode over HTTP: a run pauses for a human, frees its slot and process, and resumes on the same branch when answered. */
describe('local mode: ask, wait without compute, answer, resume', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'ask-then-demo.jsonl') });
  });
  afterAll(() => t?.stop());

  it('Given an agent that asks, When the requester answers over the API, Then the run resumes on the same branch with the answer and ends with its PR', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const waiting = await untilStatus(t.client, submitted.runId, (r) => r.status === 'WAITING_FOR_HUMAN' || ended(r), 'the run to wait for a human', 90_000);
    expect(waiting.status).toBe('WAITING_FOR_HUMAN');
    // Invariant 8: no slot, no runner process.
    expect(await t.platform.store.slots.holders()).toEqual([]);
    await until(() => (t.platform.runners.runningRunIds().length === 0 ? true : undefined), 'the runner process to exit');

    const { events } = await t.client.events(submitted.runId);
    const paused = events.find((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN');
    const itemId = paused?.detail?.itemId as string;
    expect(itemId).toMatch(/^[0-9A-Z]{26}$/);
    const item = await t.client.answer(itemId, { action: 'answer', answer: 'Yes, keep digits.' });
    expect(item).toMatchObject({ itemId, state: 'resolved', resolution: { action: 'answer', answer: 'Yes, keep digits.' } });
    await expect(t.client.answer(itemId, { action: 'answer', answer: 'No.' })).rejects.toMatchObject({ status: 409 });

    const run = await untilStatus(t.client, submitted.runId, ended, 'the resumed run to end', 120_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', branch: waiting.branch });
    const pull = listPulls(t.home.forge, sampleRepo).find((p) => run.prUrl!.endsWith(`/pull/${p.number}`));
    expect(pull).toMatchObject({ head: waiting.branch });
    const all = (await t.client.events(submitted.runId, { limit: 500 })).events;
    expect(all.some((e) => /resumed after the question was answered/.test(e.message))).toBe(true);
    expect(all.filter((e) => e.type === 'status' && e.detail?.from === 'WAITING_FOR_HUMAN' && e.detail?.to === 'QUEUED')).toHaveLength(1);
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 240_000);
});
