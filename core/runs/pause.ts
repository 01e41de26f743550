import { MAX_PAUSES_PER_RUN, pausedRunHoldings } from '../inbox/paused-run';
import { isAutomaticPauseReason, type PauseTaskInput } from '../inbox/pause-report';
import type { InboxStore, StoredInboxItem } from '../store/inbox-store-port';
import { announceItem, type InboxNotifier } from '../inbox/inbox-notification';
import type { ConcurrencySlotsPort, RunEventLog, RunRepository } from '../store/ports';
import { RunNotFoundError } from '../errors';
import { IllegalTransitionError } from './lifecycle';
import { reasonText } from './termination';
import type { QueueWaker } from './queue-wake';

export interface PauseDeps {
  runs: RunRepository;
  events: RunEventLog;
  slots: ConcurrencySlotsPort;
  inbox: InboxStore;
  /** Wakes the queued runs the freed slots can admit (core/runs/queue-wake.ts); none: the sweep finds them. */
  wakeQueue?: QueueWaker;
  /** Stops whatever compute the run still has: the runner reported the pause and is exiting. */
  stopRunTasks(runId: string): Promise<void>;
  /** Announces the new item (the inbox topic on AWS, the outbox locally); none: nobody is told but the inbox. */
  notify?: Pick<InboxNotifier, 'itemCreated'>;
  now?: () => Date;
}

/** The run cannot pause (it ended or is being cancelled, or paused too often): the wait state fails and Finalize decides. */
export class PauseRefusedError extends Error {
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} cannot pause: ${reason}`);
    this.name = 'Nightshift.PauseRefused';
  }
}

/**
 * The Pause task (lambda:invoke.waitForTaskToken): the runner reported a pause. Records the inbox
 * item with the execution's task token, stops the task, gives the slots back, and moves the run
 * RUNNING → WAITING_FOR_HUMAN with what the next task restores. Every step is idempotent, so a
 * retried task changes nothing twice; the execution then waits on the token until an answer
 * (core/runs/answer.ts) or `timeouts.answerHours`.
 */
export async function pauseRun(deps: PauseDeps, input: PauseTaskInput): Promise<StoredInboxItem> {
  const { pause } = input.report;
  const run = await deps.runs.get(input.runId);
  if (!run) throw new RunNotFoundError(input.runId);
  const reason = pause.reason;
  // An interruption resumes without a human (core/runs/automatic-resume.ts): it never becomes an inbox item.
  if (isAutomaticPauseReason(reason)) throw new PauseRefusedError(run.runId, `a ${reason} pause resumes without a human`);
  const retried = run.status === 'WAITING_FOR_HUMAN' && run.resume?.itemId === pause.itemId;
  if (!retried) {
    if (run.status !== 'RUNNING') throw new PauseRefusedError(run.runId, `it is ${run.status}`);
    if (run.cancelRequested) throw new PauseRefusedError(run.runId, 'a cancel was requested');
    const pauses = (await deps.inbox.listByRun(run.runId)).filter((item) => item.taskToken !== null && item.itemId !== pause.itemId).length;
    if (pauses >= MAX_PAUSES_PER_RUN)
      throw new PauseRefusedError(run.runId, `it paused ${pauses} times already (at most ${MAX_PAUSES_PER_RUN})`);
  }

  const now = (deps.now?.() ?? new Date()).toISOString();
  const item = await deps.inbox.create({
    itemId: pause.itemId,
    type: reason,
    state: 'open',
    runId: run.runId,
    repo: run.repo,
    requester: run.requester,
    createdAt: now,
    resolvedAt: null,
    resolvedBy: null,
    message: reasonText(pause.message, 'the run needs a human'),
    details: { ...pause.details, branch: pause.branch },
    resolution: null,
    taskToken: input.token,
    checkpoint: pause.checkpoint,
  });
  // Invariant 8: a paused run holds no compute and no slot.
  await deps.stopRunTasks(run.runId);
  await deps.slots.release(run.runId, run.repo, run.requester);
  await deps.wakeQueue?.();
  if (retried) return item;

  const segment = (run.resume?.segment ?? 1) + 1;
  try {
    await deps.runs.transition(run.runId, 'WAITING_FOR_HUMAN', {
      branch: pause.branch,
      resume: { itemId: item.itemId, reason: pause.reason, checkpoint: pause.checkpoint, answer: null, answeredAt: null, segment },
    });
  } catch (err) {
    if (err instanceof IllegalTransitionError) throw new PauseRefusedError(run.runId, `it became ${err.from}`);
    throw err;
  }
  const holds = pausedRunHoldings(run);
  await deps.events.append(run.runId, 'status', `RUNNING → WAITING_FOR_HUMAN: ${pause.reason}: ${item.message}`, {
    from: 'RUNNING',
    to: 'WAITING_FOR_HUMAN',
    itemId: item.itemId,
    reason: pause.reason,
    branch: pause.branch,
    holds,
  });
  // Once the run waits, so an answer prompted by the announcement finds the run waiting.
  await announceItem(deps, item, run, 'itemCreated');
  return item;
}
