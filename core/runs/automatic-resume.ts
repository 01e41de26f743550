import * as z from 'zod';
import { RunNotFoundError } from '../errors';
import { RunnerPause, type RunResume } from '../inbox/pause-report';
import { pausedRunHoldings } from '../inbox/paused-run';
import type { ConcurrencySlotsPort, RunEventLog, RunRecord, RunRepository } from '../store/ports';
import { CapacityProvider, IllegalTransitionError, isTerminal } from './lifecycle';
import { automaticResumeFor, RUNNER_LOST_ERROR, type AutomaticResumeDecision } from './runner-stop';
import { RunId } from './schemas';

/** What a run resumed after an interruption is told, at the end of its last user message. */
export const INTERRUPTION_RESUME_NOTE =
  'The runner task of this run was interrupted (SIGTERM from outside the platform, most often a Fargate Spot interruption) and the run resumed on a new task. The workspace is the run branch as pushed at the interruption (work in progress committed). A tool call that was running then did not finish: check its effects and run it again if needed. Go on with the task.';

/** The task's payload: the state at the stop (the state machine passes it whole; only these fields are read). */
export const AutomaticResumeTaskInput = z.object({
  runId: RunId,
  /** The capacity the execution asked for; the run record's automatic resumes override it. */
  capacityProvider: CapacityProvider,
  /** The runner's report, when it checkpointed on SIGTERM ({pause: {reason: 'interrupted', ...}}). */
  result: RunnerPause.optional(),
  /** The runner task's failure, when it stopped without reporting (Nightshift.RunnerLost). */
  failure: z.object({ Error: z.string(), Cause: z.string().nullish() }).optional(),
});
export type AutomaticResumeTaskInput = z.infer<typeof AutomaticResumeTaskInput>;

export interface AutomaticResumeDeps {
  runs: RunRepository;
  events: RunEventLog;
  slots: ConcurrencySlotsPort;
  /** Stops whatever compute the run still has (the interrupted runner is exiting; a lost one is gone). */
  stopRunTasks(runId: string): Promise<void>;
  now?: () => Date;
}

/** The run does not resume without a human: the task fails and Finalize ends the run with the stop's own reason. */
export class ResumeRefusedError extends Error {
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} does not resume: ${reason}`);
    this.name = 'Nightshift.NotResumed';
  }
}

export interface AutomaticResumeOutput {
  runId: string;
  capacityProvider: CapacityProvider;
  attempt: number;
}

/** The capacity a run's next task runs on: what the execution asked for, unless an automatic resume moved it. */
export function capacityProviderOf(run: Pick<RunRecord, 'automaticResumes'>, requested: CapacityProvider): CapacityProvider {
  return run.automaticResumes?.capacityProvider ?? requested;
}

/**
 * Resume without a human (docs/inbox.md#resume-without-a-human): the run's task was interrupted (the runner checkpointed on SIGTERM
 * and reported an `interrupted` pause, or, interrupted before its agent loop, reported one with no
 * checkpoint: the task starts over) or lost after a checkpoint (it stopped without reporting, and
 * the run had resumed from a pause before: that checkpoint and the branch as pushed then are where it
 * goes on). The same path as an answered pause, with no inbox item and no wait: the task is stopped,
 * the slots given back, and the run re-queued (RUNNING or STARTING → QUEUED) with what the next task
 * restores on its `resume`; the execution goes on to Admit, which takes slots again under the caps.
 * Its budget reservation stays as it is; every cost of the stopped task was charged by that task
 * (its ledger entries carry its segment's call and charge ids), so nothing is counted twice.
 * Idempotent: a retried task finds the run re-queued from the same stop and changes nothing.
 */
export async function resumeWithoutHuman(deps: AutomaticResumeDeps, input: AutomaticResumeTaskInput): Promise<AutomaticResumeOutput> {
  const run = await deps.runs.get(input.runId);
  if (!run) throw new RunNotFoundError(input.runId);
  const stop = stopOf(run, input, (deps.now?.() ?? new Date()).toISOString());
  const capacity = capacityProviderOf(run, input.capacityProvider);
  if (run.status === 'QUEUED' && run.automaticResumes?.lastKey === stop.key) {
    return { runId: run.runId, capacityProvider: run.automaticResumes.capacityProvider, attempt: run.automaticResumes.count };
  }
  if (isTerminal(run.status)) throw new ResumeRefusedError(run.runId, `it is ${run.status}`);
  if (run.status !== 'RUNNING' && run.status !== 'STARTING') throw new ResumeRefusedError(run.runId, `it is ${run.status}`);
  const decision: AutomaticResumeDecision = automaticResumeFor({
    stop: stop.kind,
    hasCheckpoint: stop.resume !== undefined,
    cancelRequested: run.cancelRequested,
    resumes: run.automaticResumes?.count ?? 0,
    capacityProvider: capacity,
  });
  if (decision.action === 'end') {
    await deps.events.append(run.runId, 'note', `not resumed without a human: ${decision.why}`, { stop: stop.kind, cause: stop.cause });
    throw new ResumeRefusedError(run.runId, decision.why);
  }

  // Invariant 8 as at a pause: no compute and no slot until Admit takes them again.
  await deps.stopRunTasks(run.runId);
  await deps.slots.release(run.runId, run.repo, run.requester);
  const automaticResumes = {
    count: decision.attempt,
    capacityProvider: decision.capacityProvider,
    lastKey: stop.key,
    lastCause: stop.cause.slice(0, 1_000),
  };
  try {
    await deps.runs.transition(run.runId, 'QUEUED', {
      queuePosition: null,
      resume: stop.resume!,
      automaticResumes,
      ...(stop.branch !== undefined ? { branch: stop.branch } : {}),
    });
  } catch (err) {
    if (err instanceof IllegalTransitionError) throw new ResumeRefusedError(run.runId, `it became ${err.from}`);
    throw err;
  }
  await deps.events.append(run.runId, 'status', `${run.status} → QUEUED: ${decision.why}`, {
    from: run.status,
    to: 'QUEUED',
    stop: stop.kind,
    cause: stop.cause,
    capacityProvider: decision.capacityProvider,
    attempt: decision.attempt,
    itemId: stop.resume!.itemId,
    segment: stop.resume!.segment,
    holds: pausedRunHoldings(run),
  });
  return { runId: run.runId, capacityProvider: decision.capacityProvider, attempt: decision.attempt };
}

interface StopFacts {
  kind: 'interrupted' | 'lost';
  /** Names the stop, so a retried task is recognised. */
  key: string;
  cause: string;
  /** What the next task restores; undefined when there is no checkpoint to go on from. */
  resume: RunResume | undefined;
  /** The branch the next task continues; undefined: as on the run record; null: none yet (a start over from the base branch). */
  branch: string | null | undefined;
}

function stopOf(run: RunRecord, input: AutomaticResumeTaskInput, now: string): StopFacts {
  const segment = (run.resume?.segment ?? 1) + 1;
  if (input.result) {
    const { pause } = input.result;
    if (pause.reason !== 'interrupted') throw new ResumeRefusedError(run.runId, `a ${pause.reason} pause waits for a human`);
    if (pause.checkpoint === null) {
      // Interrupted before its agent loop: nothing was lost. The task starts over on the run's branch,
      // from the checkpoint it was resuming from (with the same answer) if any, else from the start.
      const last = run.resume && run.resume.answer !== null ? run.resume : undefined;
      return {
        kind: 'interrupted',
        key: pause.itemId,
        cause: pause.message,
        resume: last
          ? { ...last, answeredAt: now, segment }
          : { itemId: pause.itemId, reason: 'interrupted', checkpoint: null, answer: null, answeredAt: now, segment },
        branch: pause.branch,
      };
    }
    return {
      kind: 'interrupted',
      key: pause.itemId,
      cause: pause.message,
      resume: {
        itemId: pause.itemId,
        reason: 'interrupted',
        checkpoint: pause.checkpoint,
        answer: INTERRUPTION_RESUME_NOTE,
        answeredAt: now,
        segment,
      },
      branch: pause.branch,
    };
  }
  if (input.failure?.Error !== RUNNER_LOST_ERROR)
    throw new ResumeRefusedError(run.runId, `the runner failed with ${input.failure?.Error ?? 'nothing'}, which is not a lost task`);
  const cause = input.failure.Cause ?? 'the runner stopped without reporting';
  // The checkpoint the run last resumed from (answered, or an interruption's), with the same answer.
  const last = run.resume && run.resume.answer !== null ? run.resume : undefined;
  return {
    kind: 'lost',
    key: `lost:${run.resume?.segment ?? 1}`,
    cause,
    resume: last ? { ...last, answeredAt: now, segment } : undefined,
    branch: undefined,
  };
}
