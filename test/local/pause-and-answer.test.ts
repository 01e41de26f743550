import { join } from 'node:path';
import { runCli, type CliIo } from '../../cli/program';
import { listPulls } from '../../local/forge';
import { ended, sampleRepo, startTestPlatform, untilStatus, type TestPlatform } from './platform-harness';
import { eventually } from '../support/eventually';

/** Local mode over HTTP: a run pauses for a human, frees its slot and process, and resumes on the same branch when answered. */
describe('local mode: ask, wait without compute, answer, resume', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'ask-then-demo.jsonl') });
  });
  afterAll(() => t?.stop());

  it('Given an agent that asks, When the requester answers over the API, Then the run resumes on the same branch with the answer and ends with its PR', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const waiting = await untilStatus(
      t.client,
      submitted.runId,
      (r) => r.status === 'WAITING_FOR_HUMAN' || ended(r),
      'the run to wait for a human',
      90_000,
    );
    expect(waiting.status).toBe('WAITING_FOR_HUMAN');
    // Invariant 8: no slot, no runner process.
    expect(await t.platform.store.slots.holders()).toEqual([]);
    await eventually(() => (t.platform.runners.runningRunIds().length === 0 ? true : undefined), 'the runner process to exit', 60_000);

    const { events } = await t.client.events(submitted.runId);
    const paused = events.find((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN');
    const itemId = paused?.detail?.itemId as string;
    expect(itemId).toMatch(/^[0-9A-Z]{26}$/);
    const item = await t.client.resolveInboxItem(itemId, { action: 'answer', answer: 'Yes, keep digits.' });
    expect(item).toMatchObject({ itemId, state: 'resolved', resolution: { action: 'answer', answer: 'Yes, keep digits.' } });
    await expect(t.client.resolveInboxItem(itemId, { action: 'answer', answer: 'No.' })).rejects.toMatchObject({ status: 409 });

    const run = await untilStatus(t.client, submitted.runId, ended, 'the resumed run to end', 120_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', branch: waiting.branch });
    const pull = listPulls(t.home.forge, sampleRepo).find((p) => run.prUrl!.endsWith(`/pull/${p.number}`));
    expect(pull).toMatchObject({ head: waiting.branch });
    const all = (await t.client.events(submitted.runId, { limit: 500 })).events;
    expect(all.some((e) => /resumed after the question was answered/.test(e.message))).toBe(true);
    expect(all.filter((e) => e.type === 'status' && e.detail?.from === 'WAITING_FOR_HUMAN' && e.detail?.to === 'QUEUED')).toHaveLength(1);
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 240_000);

  it('Given submit --wait in the CLI, When the run pauses, Then it says how to answer; nightshift inbox lists the item, answer resumes the run, and submit --wait ends with the PR', async () => {
    const api = t.client.baseUrl.toString().replace(/\/$/, '');
    const capture = () => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
      return { io, out, err };
    };
    const submit = capture();
    const waited = runCli(['--api', api, '--json', 'submit', sampleRepo, 'Fix slugify so the tests pass.', '--wait'], submit.io);
    const notice = await eventually(
      () =>
        submit.err
          .map((l) => JSON.parse(l) as { paused?: { itemId: string; type: string; message: string; resolveWith: string } })
          .find((l) => l.paused)?.paused,
      'submit --wait to show the pause',
      90_000,
    );
    expect(notice).toMatchObject({ type: 'question', resolveWith: `nightshift answer ${notice.itemId} "<your answer>"` });
    expect(notice.message.length).toBeGreaterThan(0);

    const inbox = capture();
    expect(await runCli(['--api', api, 'inbox'], inbox.io)).toBe(0);
    const listed = inbox.out.join('\n');
    expect(listed).toMatch(new RegExp(`^${notice.itemId}\\s+question\\s+open\\s+${sampleRepo}`, 'm'));
    expect(listed).toContain(`${notice.itemId}: nightshift answer ${notice.itemId}`);

    // A resolution the type does not take is one clear line, exit 1, and changes nothing.
    const wrong = capture();
    expect(await runCli(['--api', api, 'reject', notice.itemId], wrong.io)).toBe(1);
    expect(wrong.err.join('\n')).toMatch(/^error: .*reject/m);

    const answer = capture();
    expect(await runCli(['--api', api, 'answer', notice.itemId, 'Yes, keep digits.'], answer.io)).toBe(0);
    expect(answer.out).toEqual([expect.stringMatching(new RegExp(`^${notice.itemId} question resolved: answer by local:`))]);

    expect(await waited).toBe(0);
    expect(JSON.parse(submit.out.at(-1)!)).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
    const resolved = capture();
    await runCli(['--api', api, '--json', 'inbox', '--state', 'resolved'], resolved.io);
    expect(JSON.parse(resolved.out[0]!).items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          itemId: notice.itemId,
          state: 'resolved',
          resolution: { action: 'answer', answer: 'Yes, keep digits.' },
        }),
      ]),
    );
  }, 240_000);
});
