import { pausedRunHoldings } from '../../core/inbox/paused-run';
import { budgetApprovalRequest } from '../../core/inbox/budget-approval';
import type { RunnerPause } from '../../core/inbox/pause-report';
import { newRunId } from '../../core/runs/run-id';
import type { RunnerResult } from '../../core/runs/schemas';
import { controlItemKey, ledgerDay } from '../../adapters/dynamodb/tables';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { RunStates } from '../../infra/constructs/orchestrator';
import { stackFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import { admittedRanEnded } from '../support/run-state-paths';
import { withOrchestrationHarness } from './harness';

const config = testConfig(stackFixture);
const h = withOrchestrationHarness(config);

function questionPause(question: string): RunnerPause {
  return {
    pause: {
      itemId: newRunId(),
      reason: 'question',
      message: question,
      details: { question },
      branch: 'nightshift/run-fix',
      checkpoint: '/traces/run/checkpoint.json',
    },
  };
}

const prOpened: RunnerResult = {
  outcome: 'pr_opened',
  branch: 'nightshift/run-fix',
  prUrl: 'https://github.com/acme/web/pull/7',
  question: null,
  summary: 'Fixed',
};

async function orgCommitted(runId: string): Promise<number> {
  const run = await h.db.store.runs.get(runId);
  const { Item } = await h.db.doc.send(
    new GetCommand({
      TableName: h.db.names.control,
      Key: { pk: controlItemKey.orgDay(ledgerDay(new Date(run!.createdAt))) },
      ConsistentRead: true,
    }),
  );
  return Item?.committedMicros as number;
}

/** Starts a run, lets its runner spend `spent` and ask `question` (or report `pause`); returns once the run waits. */
async function pausedRun(repo: string, question: string, spent: number | 'all', input: Record<string, number> = {}, pause?: RunnerPause) {
  const runId = await h.submit(repo, input);
  const runner = await h.runnerOf(runId);
  await h.runnerBegins(runId, spent === 'all' ? (await h.db.store.runs.get(runId))!.budgetMicros : spent);
  const report = pause ?? questionPause(question);
  await h.machine.sendTaskSuccess(runner.token, JSON.stringify(report));
  const run = await eventually(async () => {
    const r = await h.db.store.runs.get(runId);
    return r?.status === 'WAITING_FOR_HUMAN' ? r : undefined;
  }, 'the run to wait for a human');
  return { runId, run, itemId: report.pause.itemId };
}

describe('pausing for a human and resuming on the same branch (the real state machine definition)', () => {
  test('Given a runner that asks a question, When it reports the pause, Then the run waits holding no slot and no task, and another run takes the slot', async () => {
    const { runId, run, itemId } = await pausedRun('acme/web', 'Which timezone do the dates use?', 1_000);
    expect(await h.db.store.slots.holders()).toEqual([]);
    expect(h.stoppedTasks).toContain(runId);
    expect(run.resume).toMatchObject({ itemId, reason: 'question', answer: null, segment: 2 });
    expect(run.branch).toBe('nightshift/run-fix');
    const item = await h.db.store.inbox.get(itemId);
    expect(item).toMatchObject({ type: 'question', state: 'open', runId, requester: 'alice', message: 'Which timezone do the dates use?' });
    expect(item?.taskToken).toEqual(expect.any(String));

    // Invariant 8 and the budget rule: the whole budget stays reserved on the day while it waits.
    expect(pausedRunHoldings(run)).toEqual({ slots: 0, computeTasks: 0, reservedMicros: run.budgetMicros - 1_000, spentMicros: 1_000 });
    expect(await orgCommitted(runId)).toBe(run.budgetMicros);

    // perRepo is 1: another run of the same repo starts while the first waits.
    const other = await h.submit('acme/web');
    const otherRunner = await h.runnerOf(other);
    await h.runnerBegins(other, 10);
    await h.machine.sendTaskSuccess(otherRunner.token, JSON.stringify(prOpened));
    expect((await h.ended(other)).run.status).toBe('SUCCEEDED');
    await h.cancel(runId);
    await h.ended(runId);
  });

  test('Given a waiting run, When its requester answers, Then it is re-admitted under the caps and a new task starts on the same branch; the run ends with its PR and costs counted across both tasks', async () => {
    const { runId, itemId } = await pausedRun('acme/web', 'Which timezone?', 1_000);
    const view = await h.resolve(itemId, { action: 'answer', answer: 'UTC everywhere' });
    expect(view).toMatchObject({
      itemId,
      state: 'resolved',
      resolvedBy: 'alice',
      resolution: { action: 'answer', answer: 'UTC everywhere' },
    });
    expect(view).not.toHaveProperty('taskToken');

    const second = await eventually(() => h.runnersOf(runId)[1], 'a second runner task');
    const resumed = await h.db.store.runs.get(runId);
    expect(resumed).toMatchObject({
      status: 'STARTING',
      branch: 'nightshift/run-fix',
      resume: { itemId, answer: 'UTC everywhere', segment: 2 },
    });
    expect(await h.db.store.slots.holders()).toEqual([runId]);

    await h.runnerBegins(runId, 500, 'compute-2');
    await h.machine.sendTaskSuccess(second.token!, JSON.stringify(prOpened));
    const { execution, run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', spentMicros: 1_500 });
    expect(execution.statesEntered).toEqual([
      RunStates.admit,
      RunStates.admitted,
      RunStates.runRunner,
      RunStates.paused,
      RunStates.pauseKind,
      RunStates.waitForHuman,
      RunStates.resume,
      ...admittedRanEnded,
    ]);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a question item, When someone else answers, Then it does not exist for them (404), and an approval is refused as no resolution of a question; When an admin answers, Then it is resolved; When the same answer comes again, Then it is the same item (200); When another comes, Then it is a conflict (409)', async () => {
    const { runId, itemId } = await pausedRun('acme/web', 'Which timezone?', 100);
    await expect(h.resolve(itemId, { action: 'answer', answer: 'UTC' }, 'mallory')).rejects.toMatchObject({
      name: 'InboxItemNotFoundError',
    });
    await expect(h.resolve(itemId, { action: 'approve' })).rejects.toMatchObject({ name: 'InvalidResolutionError' });
    const first = await h.resolve(itemId, { action: 'answer', answer: 'UTC' }, 'ops-admin', true);
    expect(first).toMatchObject({ requester: 'alice', resolvedBy: 'ops-admin' });
    const again = await h.resolve(itemId, { action: 'answer', answer: 'UTC' });
    expect(again).toEqual(first);
    await expect(h.resolve(itemId, { action: 'answer', answer: 'local time' })).rejects.toMatchObject({ name: 'InboxConflictError' });
    // One answer, one resume.
    const second = await eventually(() => h.runnersOf(runId)[1], 'the resumed task');
    expect(h.runnersOf(runId)).toHaveLength(2);
    await h.runnerBegins(runId, 1, 'compute-2');
    await h.machine.sendTaskSuccess(second.token!, JSON.stringify(prOpened));
    await h.ended(runId);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a waiting run, When nobody answers within answerSeconds, Then it ends TIMED_OUT no_answer with the budget settled exactly, the item expired and the WIP branch named', async () => {
    const { runId, itemId } = await pausedRun('acme/web', 'Which timezone?', 2_345, { answerSeconds: 1 });
    const { execution, run } = await h.ended(runId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(run).toMatchObject({
      status: 'TIMED_OUT',
      branch: 'nightshift/run-fix',
      error: { code: 'no_answer' },
      spentMicros: 2_345,
      settled: true,
    });
    expect(run.error?.message).toContain('nightshift/run-fix');
    expect(await orgCommitted(runId)).toBe(2_345);
    expect(await h.db.store.inbox.get(itemId)).toMatchObject({
      state: 'resolved',
      resolvedBy: 'nightshift',
      resolution: { action: 'expired', answer: null },
    });
    await expect(h.resolve(itemId, { action: 'answer', answer: 'too late' })).rejects.toMatchObject({ name: 'InboxConflictError' });
    await h.expectNothingLeaked([runId]);
  });

  test('Given a waiting run, When it is cancelled, Then it ends CANCELLED, its item is closed and nothing is held', async () => {
    const { runId, itemId } = await pausedRun('acme/web', 'Which timezone?', 300);
    await h.cancel(runId);
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'CANCELLED', spentMicros: 300 });
    await eventually(async () => (await h.db.store.inbox.get(itemId))?.state === 'resolved', 'the item to be closed');
    expect(await h.db.store.inbox.get(itemId)).toMatchObject({ resolution: { action: 'closed' } });
    await expect(h.resolve(itemId, { action: 'answer', answer: 'UTC' })).rejects.toMatchObject({ name: 'InboxConflictError' });
    await h.expectNothingLeaked([runId]);
  });

  test('Given a resumed run queued behind another, When the repo slot is taken, Then it waits QUEUED and starts when the slot frees', async () => {
    const { runId, itemId } = await pausedRun('acme/web', 'Which timezone?', 100);
    const other = await h.submit('acme/web');
    const otherRunner = await h.runnerOf(other);
    await h.resolve(itemId, { action: 'answer', answer: 'UTC' });
    await eventually(async () => (await h.db.store.runs.get(runId))?.queuePosition === 1, 'the resumed run to queue');
    expect((await h.db.store.runs.get(runId))?.status).toBe('QUEUED');
    expect(h.runnersOf(runId)).toHaveLength(1);
    await h.runnerBegins(other, 1);
    await h.machine.sendTaskSuccess(otherRunner.token, JSON.stringify(prOpened));
    const second = await eventually(() => h.runnersOf(runId)[1], 'the resumed task');
    await h.runnerBegins(runId, 1, 'compute-2');
    await h.machine.sendTaskSuccess(second.token!, JSON.stringify(prOpened));
    expect((await h.ended(runId)).run.status).toBe('SUCCEEDED');
    await h.expectNothingLeaked([runId, other]);
  });

  describe('budget_approval (budgets.askForMore)', () => {
    function budgetPause(): RunnerPause {
      const asked = budgetApprovalRequest({ budgetMicros: 2_000_000, spentMicros: 2_000_000 }, 50_000);
      return {
        pause: {
          itemId: newRunId(),
          reason: 'budget_approval',
          ...asked,
          branch: 'nightshift/run-fix',
          checkpoint: '/traces/run/checkpoint.json',
        },
      };
    }
    /** A run that spent its whole budget and asks for more. */
    async function outOfBudget() {
      const paused = await pausedRun('acme/api', '', 'all', {}, budgetPause());
      return { ...paused, budget: paused.run.budgetMicros };
    }

    test('Given a run that ran out of budget and asks for more, When its requester approves more, Then the extra is reserved on the days, the run resumes with a note saying so, and its ledger ends exact', async () => {
      const { runId, itemId, budget } = await outOfBudget();
      expect(await orgCommitted(runId)).toBe(budget);
      // Approving needs an amount; more than maxPerRunUsd allows is refused and the item stays open.
      await expect(h.resolve(itemId, { action: 'approve' })).rejects.toMatchObject({ name: 'InvalidResolutionError' });
      await expect(h.resolve(itemId, { action: 'approve', extraBudgetUsd: config.budgets.maxPerRunUsd })).rejects.toMatchObject({
        name: 'BudgetExtensionRefusedError',
      });
      expect(await h.db.store.inbox.get(itemId)).toMatchObject({ state: 'open' });
      expect(await orgCommitted(runId)).toBe(budget);

      const view = await h.resolve(itemId, { action: 'approve', extraBudgetUsd: 1 });
      expect(view).toMatchObject({ state: 'resolved', resolution: { action: 'approve', extraBudgetUsd: 1 } });
      expect(await h.resolve(itemId, { action: 'approve', extraBudgetUsd: 1 })).toEqual(view);
      await expect(h.resolve(itemId, { action: 'approve', extraBudgetUsd: 2 })).rejects.toMatchObject({ name: 'InboxConflictError' });
      expect(await orgCommitted(runId)).toBe(budget + 1_000_000);

      const second = await eventually(() => h.runnersOf(runId)[1], 'the resumed task');
      expect(await h.db.store.runs.get(runId)).toMatchObject({
        budgetMicros: budget + 1_000_000,
        resume: { itemId, reason: 'budget_approval', answer: expect.stringContaining('approved $1.00 more budget') },
      });
      await h.runnerBegins(runId, 400_000, 'compute-2');
      await h.machine.sendTaskSuccess(second.token!, JSON.stringify(prOpened));
      const { run } = await h.ended(runId);
      expect(run).toMatchObject({ status: 'SUCCEEDED', spentMicros: budget + 400_000, budgetMicros: budget + 1_000_000 });
      await h.expectNothingLeaked([runId]);
    });

    test('Given a run that asks for more budget, When its requester rejects, Then it ends BUDGET_EXCEEDED (budget_declined) with its WIP branch named and nothing held', async () => {
      const { runId, itemId, budget } = await outOfBudget();
      await h.resolve(itemId, { action: 'reject' });
      const { run, execution } = await h.ended(runId);
      expect(run).toMatchObject({ status: 'BUDGET_EXCEEDED', error: { code: 'budget_declined' }, spentMicros: budget, settled: true });
      expect(run.error?.message).toContain('nightshift/run-fix');
      expect(execution.statesEntered.slice(-3)).toEqual([RunStates.waitForHuman, RunStates.finalize, RunStates.done]);
      expect(h.runnersOf(runId)).toHaveLength(1);
      await expect(h.resolve(itemId, { action: 'approve', extraBudgetUsd: 1 })).rejects.toMatchObject({ name: 'InboxConflictError' });
      await h.expectNothingLeaked([runId]);
    });
  });
});
