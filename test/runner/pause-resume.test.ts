import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import { admitRun } from '../../core/runs/admission';
import { resolveInboxItem } from '../../core/runs/answer';
import { pauseRun } from '../../core/runs/pause';
import type { RunnerDeps } from '../../runner/session/run-context';
import { brokerCheckpointStore, brokerTraceSink } from '../../runner/broker-run-data';
import { inProcessBroker, session, startInProcessRun, startRunnerHarness, transcriptMicros } from './support/runner-harness';
import { admissionDepsOf } from '../support/admission-deps';
import { freshEachTest } from '../support/fresh-each-test';
import { answerDepsOf, pauseDepsOf, pauseResolveAndReadmit, requesterOf } from '../support/pause-resolution';
import { runnerFixture, testConfig } from '../support/test-config';

const SECRET = 's3cr3t-t0ken-9f2a';
const h = freshEachTest(startRunnerHarness);

function remoteBranches(bare: string): string[] {
  return execFileSync('git', ['--git-dir', bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/**
 * Where a run's objects go: local mode's trace directory, or S3 through URLs the token broker presigns
 * for the run's own keys (as on AWS; the bucket is an in-memory store behind the presigned URLs).
 */
interface ObjectStores {
  deps(runId: string): Partial<RunnerDeps>;
  read(runId: string, objectName: string): string | undefined;
  location(runId: string, objectName: string): string;
}

function directoryStores(): ObjectStores {
  const dir = () => join(h.root, 'traces');
  return {
    deps: () => ({}),
    read: (runId, objectName) =>
      existsSync(join(dir(), runId, objectName)) ? readFileSync(join(dir(), runId, objectName), 'utf8') : undefined,
    location: (runId, objectName) => join(dir(), runId, objectName),
  };
}

function brokerStores(): ObjectStores {
  const bucket = new Map<string, string>();
  const s3 = (async (url: string, init?: RequestInit) => {
    const key = new URL(url).pathname.slice(1);
    if (init?.method === 'PUT') bucket.set(key, String(init.body));
    const body = bucket.get(key);
    return body === undefined ? new Response(null, { status: 404 }) : new Response(body, { status: 200 });
  }) as unknown as typeof fetch;
  return {
    deps(runId) {
      const broker = inProcessBroker(
        h.brokerDeps(testConfig(runnerFixture()), {
          traces: async (id, objectName) => ({
            url: `https://traces.example/runs/${id}/${objectName}?X-Amz-Signature=x`,
            location: `s3://traces/runs/${id}/${objectName}`,
            expiresAt: new Date(Date.now() + 300_000).toISOString(),
          }),
        }),
        h.runKeyOf(runId),
      );
      return { traceSink: brokerTraceSink(broker, s3), checkpoints: brokerCheckpointStore(broker, s3) };
    },
    read: (runId, objectName) => bucket.get(`runs/${runId}/${objectName}`),
    location: (runId, objectName) => `s3://traces/runs/${runId}/${objectName}`,
  };
}

describe.each([
  ['in a directory (local mode)', directoryStores],
  ['in S3 through the token broker (AWS)', brokerStores],
])('a runner task that pauses for a human and the task that resumes it, its objects %s', (_where, storesFor) => {
  it('Given an agent that asks a question, When the requester answers, Then a new task goes on on the same branch with the answer in the conversation, opens the PR, and the run costs every model call once', async () => {
    const file = session('ask-then-fix');
    const run = await h.createRun({ prompt: 'Fix the failing add test' });
    const stores = storesFor();

    // When the first task runs: the agent asks
    const first = await startInProcessRun(h, run.runId, file, { secrets: [SECRET], deps: stores.deps(run.runId) }).done;
    expect(first.end.kind).toBe('paused');
    expect(first.callbacks.successes).toEqual([]);
    expect(first.callbacks.failures).toEqual([]);
    const report = first.callbacks.pauses[0]!;
    expect(report.pause).toMatchObject({ reason: 'question', branch: expect.stringMatching(/^nightshift\//) });
    // Then the question is redacted, the branch exists on the remote and the conversation is stored next to the trace, redacted
    expect(report.pause.message).not.toContain(SECRET);
    expect(remoteBranches(h.bare)).toContain(report.pause.branch);
    const checkpointName = `checkpoint-${report.pause.itemId}.json`;
    expect(report.pause.checkpoint).toBe(stores.location(run.runId, checkpointName));
    const stored = stores.read(run.runId, checkpointName)!;
    expect(stored).not.toContain(SECRET);
    const firstStart = (await h.db.store.runs.get(run.runId))!.startedAt;
    expect(firstStart).not.toBeNull();
    expect(JSON.parse(stored)).toMatchObject({
      v: 1,
      runId: run.runId,
      itemId: report.pause.itemId,
      turn: 1,
      modelCalls: 1,
      toolUseId: 'tooluse_00',
    });

    // The state machine's side, with the real core functions: pause, answer, re-admission
    const slots = h.db.store.slots;
    await slots.acquire(run.runId, run.repo, { global: 1, perRepo: 1 });
    const stopped: string[] = [];
    const item = await pauseRun(pauseDepsOf(h.db.store, { stopRunTasks: async (id) => void stopped.push(id) }), {
      runId: run.runId,
      token: 'token-1',
      report,
    });
    expect(stopped).toEqual([run.runId]);
    expect(await slots.holders()).toEqual([]);
    const sent: string[] = [];
    await resolveInboxItem(
      answerDepsOf(h.db.store, testConfig(runnerFixture()), { sendTaskSuccess: async (token) => void sent.push(token) }),
      {
        itemId: item.itemId,
        access: requesterOf(run),
        request: { action: 'answer', answer: 'Yes: numeric strings count as numbers.' },
      },
    );
    expect(sent).toEqual(['token-1']);
    const admitted = await admitRun(admissionDepsOf(h.db.store), run.runId);
    expect(admitted).toMatchObject({ decision: 'admitted', runKey: expect.any(String) });
    // The first task's key no longer opens the run: Admit issued the next task its own.
    await expect(h.db.store.runKeys.verify(run.runId, h.runKeyOf(run.runId))).resolves.toBe(false);
    h.useRunKey(run.runId, admitted.runKey!);

    // When the next task runs
    const second = await startInProcessRun(h, run.runId, file, { secrets: [SECRET], deps: stores.deps(run.runId) }).done;
    // Then it went on from the pause: its first request holds the whole conversation and the answer as the question's result
    expect(second.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened', branch: report.pause.branch } });
    const firstRequest = second.provider.requests[0] as {
      messages: { role: string; content: { toolResult?: { toolUseId: string; content: { text: string }[] } }[] }[];
    };
    expect(firstRequest.messages).toHaveLength(3);
    const answered = firstRequest.messages[2]!.content.find((b) => b.toolResult?.toolUseId === 'tooluse_00');
    expect(answered?.toolResult?.content[0]?.text).toContain('Yes: numeric strings count as numbers.');
    expect(second.provider.served).toBe(5);
    // And each task kept its own trace; the run's spend is every recorded call once (compute is free in this config)
    expect(stores.read(run.runId, 'trace.jsonl')).toBeDefined();
    expect(stores.read(run.runId, 'trace-2.jsonl')).toContain('"type":"model_turn","turn":2,');
    const ended = await h.db.store.runs.get(run.runId);
    // The resumed task keeps the run's first start time.
    expect(ended).toMatchObject({ status: 'RUNNING', branch: report.pause.branch, startedAt: firstStart });
    expect(ended!.spentMicros).toBe(transcriptMicros(file).micros);
  });

  it('Given a resumed run whose checkpoint is gone, When the task starts, Then it fails with checkpoint_unreadable and never calls the model', async () => {
    const run = await h.createRun({ prompt: 'Fix the failing add test', branch: null });
    await h.db.store.runs.patch(run.runId, {
      resume: {
        itemId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
        reason: 'question',
        checkpoint: '/nowhere',
        answer: 'yes',
        answeredAt: new Date().toISOString(),
        segment: 2,
      },
    });
    const { end, provider } = await startInProcessRun(h, run.runId, session('ask-then-fix'), { deps: storesFor().deps(run.runId) }).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed', cause: expect.stringMatching(/^checkpoint_unreadable: /) });
    expect(provider.requests).toHaveLength(0);
  });
});

describe('a runner task whose budget runs out with budgets.askForMore', () => {
  it('Given a run whose next model call does not fit, When it may ask for more, Then it pauses (budget_approval) instead of ending; When more is approved, Then the next task goes on with a note saying so and opens the PR', async () => {
    const config = parseConfig({ ...testConfig(runnerFixture()), budgets: { ...testConfig(runnerFixture()).budgets, askForMore: true } });
    const file = session('fix-failing-test');
    // A budget that cannot cover even the first call's worst case.
    const run = await h.createRun({ prompt: 'Fix the failing add test', budgetMicros: 1_000 });
    await h.db.store.ledger.reserveRun({
      runId: run.runId,
      requester: run.requester,
      day: run.ledgerDay,
      budgetMicros: 1_000,
      limits: { requesterDailyMicros: 100_000_000, orgDailyMicros: 100_000_000 },
    });
    const first = await startInProcessRun(h, run.runId, file, { config }).done;
    expect(first.end.kind).toBe('paused');
    expect(first.provider.requests).toHaveLength(0);
    const report = first.callbacks.pauses[0]!;
    expect(report.pause).toMatchObject({
      reason: 'budget_approval',
      details: { budgetUsd: 0.001 },
      message: expect.stringMatching(/^The run has spent \$0\.00 of its \$0\.00 budget/),
    });
    expect(JSON.parse(readFileSync(join(first.traceDir, run.runId, `checkpoint-${report.pause.itemId}.json`), 'utf8'))).toMatchObject({
      turn: 0,
      modelCalls: 0,
      toolUseId: null,
    });

    const { admitted } = await pauseResolveAndReadmit(h.db.store, {
      run,
      report,
      request: { action: 'approve', extraBudgetUsd: 1 },
      config,
    });
    h.useRunKey(run.runId, admitted.runKey!);

    const second = await startInProcessRun(h, run.runId, file, { config }).done;
    expect(second.end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened', branch: report.pause.branch } });
    const firstRequest = second.provider.requests[0] as { messages: { role: string; content: { text?: string }[] }[] };
    expect(firstRequest.messages).toHaveLength(1);
    expect(firstRequest.messages[0]!.content.map((b) => b.text ?? '').join('\n')).toContain(
      "The requester approved $1.00 more budget (the run's budget is now $1.00)",
    );
    expect(await h.db.store.runs.get(run.runId)).toMatchObject({ budgetMicros: 1_001_000 });
  });
});
