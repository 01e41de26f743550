import * as z from 'zod';
import { CapacityProvider } from './lifecycle';
import { reasonText } from './termination';

/** The runner's container name in the task definition; its overrides carry RUN_ID, TASK_TOKEN and RUN_KEY. */
export const RUNNER_CONTAINER_NAME = 'runner';

/**
 * What is known when a run's runner stopped: ECS's Task State Change event on AWS, the process exit in
 * local mode. One pure decision for both; whether the run then resumes without a human is
 * `automaticResumeFor` below.
 */
export interface RunnerStopFacts {
  /** ECS `stopCode` (TaskFailedToStart, EssentialContainerExited, UserInitiated, SpotInterruption, ...); null in local mode. */
  stopCode: string | null;
  /** ECS `stoppedReason` ("Essential container in task exited", "CannotPullContainerError: ..."); null in local mode. */
  stoppedReason: string | null;
  /** The runner container's (or process's) exit code; null when it never ran or was killed by a signal. */
  exitCode: number | null;
  /** The runner container's `reason` (OutOfMemoryError, CannotStartContainerError...); in local mode the signal that killed the process. */
  containerReason: string | null;
  /** Local mode: the runner's last stderr lines, redacted. */
  lastErrorLines: readonly string[];
}

/** The state machine error a lost runner's task fails with (SendTaskFailure), mapped to `runner_lost` by terminationFor. */
export const RUNNER_LOST_ERROR = 'Nightshift.RunnerLost';

export type RunnerStopOutcome =
  /** The runner exited on its own after reporting (exit code 0): nothing to do; the heartbeat stays the backstop. */
  | { action: 'none'; why: string }
  /** End the run now: fail its waiting task with this cause. A task that already reported ignores it. */
  | { action: 'fail'; error: typeof RUNNER_LOST_ERROR; cause: string };

const exitMeanings: Record<number, string> = {
  137: 'killed with SIGKILL, most often for running out of memory',
  139: 'a segmentation fault',
  143: 'stopped with SIGTERM',
};

/** What a person reads in the run's error: what stopped the runner, in words, with ECS's and the runner's own text. */
function describe(facts: RunnerStopFacts): string {
  const parts: string[] = [];
  const reason = facts.containerReason ?? '';
  if (
    facts.stopCode === 'TaskFailedToStart' ||
    /^Cannot(Pull|Start|Create)Container/i.test(reason) ||
    /^Cannot(Pull|Start|Create)Container|ResourceInitializationError/i.test(facts.stoppedReason ?? '')
  ) {
    parts.push('the runner task could not start');
  } else if (facts.stopCode === 'SpotInterruption') {
    parts.push('the runner lost its Fargate Spot capacity before it could report');
  } else if (/OutOfMemory/i.test(reason)) {
    parts.push('the runner ran out of memory');
  } else if (facts.exitCode !== null) {
    const meaning = exitMeanings[facts.exitCode];
    parts.push(`the runner exited with code ${facts.exitCode}${meaning ? ` (${meaning})` : ''} without reporting`);
  } else if (reason) {
    parts.push(`the runner was ended by ${reason} without reporting`);
  } else {
    parts.push('the runner stopped without reporting');
  }
  const detail = [facts.stoppedReason, facts.containerReason].filter((t): t is string => Boolean(t) && !parts[0]!.includes(t!));
  if (detail.length > 0) parts.push(`ECS: ${[...new Set(detail)].join('; ')}`);
  if (facts.lastErrorLines.length > 0) parts.push(`last error lines: ${facts.lastErrorLines.join(' | ')}`);
  return parts.join('. ');
}

/** Whether a stopped runner ends its run now, and with what cause. Pure. */
export function runnerStopOutcome(facts: RunnerStopFacts): RunnerStopOutcome {
  if (facts.exitCode === 0) return { action: 'none', why: 'the runner exited normally, after reporting its result' };
  return { action: 'fail', error: RUNNER_LOST_ERROR, cause: reasonText(describe(facts), 'the runner stopped without reporting') };
}

/** SendTaskFailure of the run's waiting task (Step Functions on AWS, the offline executor locally). */
export type SendTaskFailure = (taskToken: string, error: string, cause: string) => Promise<void>;

/** Step Functions' answers for a token whose task already ended: the runner reported, or the run was stopped. */
const TASK_ALREADY_ENDED = new Set(['TaskTimedOut', 'TaskDoesNotExist']);

export type LostRunnerAction =
  | { action: 'none'; why: string }
  | { action: 'failed'; cause: string }
  | { action: 'already_ended'; cause: string };

/**
 * Acts on a stopped runner: when the outcome is to fail, fails the run's waiting task, so the state
 * machine's Catch takes the run to Finalize (slots and budget released there, exactly once). A task
 * that already ended (the runner reported before it stopped) ignores it. Other errors are thrown.
 */
export async function endLostRunner(
  facts: RunnerStopFacts,
  taskToken: string,
  sendTaskFailure: SendTaskFailure,
): Promise<LostRunnerAction> {
  const outcome = runnerStopOutcome(facts);
  if (outcome.action === 'none') return outcome;
  try {
    await sendTaskFailure(taskToken, outcome.error, outcome.cause);
    return { action: 'failed', cause: outcome.cause };
  } catch (err) {
    if (TASK_ALREADY_ENDED.has((err as { name?: string }).name ?? '')) return { action: 'already_ended', cause: outcome.cause };
    throw err;
  }
}

/**
 * Resumes without a human on the first two interruptions or losses on the capacity the run asked for;
 * once the run has been resumed this often, a run on Spot resumes once more on regular Fargate (Spot
 * capacity is evidently being reclaimed) and one on regular Fargate ends.
 */
export const MAX_AUTOMATIC_RESUMES = 2;

/** On the run record: how often it resumed without a human, and the capacity its next tasks run on. */
export const AutomaticResumes = z
  .object({
    count: z.number().int().positive(),
    capacityProvider: CapacityProvider,
    /** What the last one resumed from: the interruption's checkpoint id, or `lost:<segment>`; a retried task changes nothing twice. */
    lastKey: z.string().min(1),
    /** Why the last one happened, in words (the run's timeline has each). */
    lastCause: z.string().min(1).max(1_000),
  })
  .strict();
export type AutomaticResumes = z.infer<typeof AutomaticResumes>;

export interface AutomaticResumeFacts {
  /** `interrupted`: the runner checkpointed on SIGTERM and reported it; `lost`: the task stopped without reporting. */
  stop: 'interrupted' | 'lost';
  /** Whether there is a checkpoint to go on from: the interruption's own, or for a lost task the one the run last resumed from. */
  hasCheckpoint: boolean;
  cancelRequested: boolean;
  /** Automatic resumes of the run so far. */
  resumes: number;
  /** The capacity the stopped task ran on. */
  capacityProvider: CapacityProvider;
}

export type AutomaticResumeDecision =
  | { action: 'resume'; capacityProvider: CapacityProvider; attempt: number; why: string }
  | { action: 'end'; why: string };

/** Whether a run whose task was interrupted or lost resumes at once without a human, and on which capacity. Pure. */
export function automaticResumeFor(facts: AutomaticResumeFacts): AutomaticResumeDecision {
  if (facts.cancelRequested) return { action: 'end', why: 'a cancel was requested' };
  if (!facts.hasCheckpoint) return { action: 'end', why: 'the task left no checkpoint to resume from' };
  const attempt = facts.resumes + 1;
  const what = facts.stop === 'interrupted' ? 'interrupted' : 'lost after a checkpoint';
  if (facts.resumes < MAX_AUTOMATIC_RESUMES) {
    return {
      action: 'resume',
      capacityProvider: facts.capacityProvider,
      attempt,
      why: `the task was ${what}: resumed without a human (${attempt} of ${MAX_AUTOMATIC_RESUMES}) on ${facts.capacityProvider}`,
    };
  }
  if (facts.capacityProvider === 'FARGATE_SPOT') {
    return {
      action: 'resume',
      capacityProvider: 'FARGATE',
      attempt,
      why: `the task was ${what} after ${facts.resumes} automatic resumes on Fargate Spot: resumed once more, on regular Fargate`,
    };
  }
  return {
    action: 'end',
    why: `the task was ${what} after ${facts.resumes} automatic resumes (at most ${MAX_AUTOMATIC_RESUMES}, then one on regular Fargate for a Spot run)`,
  };
}
