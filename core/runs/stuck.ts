import { createHash } from 'node:crypto';
import * as z from 'zod';

/**
 * Stuck detection (the `stuck` pause, docs/inbox.md#stuck): the runner watching itself repeat a failing step, so
 * it asks its requester for a hint instead of burning its budget. Pure: the agent loop feeds it one
 * observation per turn (its tool calls and whether each failed, the workspace's fingerprint) and
 * pauses when it answers with a verdict.
 *
 * Two rules, thresholds below:
 * - **repeated failure**: the same tool call (same tool, same input) failed with the same output
 *   `STUCK_REPEATED_FAILURES` times without succeeding in between. Outputs are compared with their
 *   digits blanked out, so timings, pids and dates do not make two identical failures look different.
 * - **no progress**: `STUCK_IDLE_TURNS` turns in a row changed neither the workspace (tracked and
 *   untracked files, as git sees them) nor the test results (the output of the repository's test
 *   command, when the agent ran it). Exploring a repository reads files for a while; the threshold is
 *   well above what a normal exploration takes.
 */
export const STUCK_REPEATED_FAILURES = 3;
export const STUCK_IDLE_TURNS = 25;

/** How much of the repeated command and its failure the inbox item shows (after redaction by the runner). */
const MAX_STEP_CHARS = 500;
const MAX_FAILURE_CHARS = 1_500;

/** One tool call of a turn, as the detector sees it. */
export interface ObservedStep {
  tool: string;
  input: unknown;
  failed: boolean;
  /** What the model was told (the tool's output or refusal). */
  output: string;
}

export interface TurnObservation {
  turn: number;
  steps: readonly ObservedStep[];
  /** A fingerprint of the workspace after the turn's tool calls (any change of a file changes it). */
  workspace: string;
}

export const StuckDetails = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('repeated_failure'),
      tool: z.string(),
      step: z.string(),
      failure: z.string(),
      times: z.number().int().positive(),
      turn: z.number().int().nonnegative(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('no_progress'),
      turns: z.number().int().positive(),
      turn: z.number().int().nonnegative(),
      lastSteps: z.array(z.string()),
    })
    .strict(),
]);
export type StuckDetails = z.infer<typeof StuckDetails>;

export interface StuckVerdict {
  message: string;
  details: StuckDetails;
}

export interface StuckDetectorOptions {
  /** The repository's test command: a shell call running it is a test result. */
  testCommand?: string | undefined;
  repeatedFailures?: number;
  idleTurns?: number;
}

/** The step as the item shows it: a shell command as written, any other tool as `name {input}`. */
export function describeStep(tool: string, input: unknown): string {
  const command = tool === 'shell' && typeof input === 'object' && input !== null ? (input as { command?: unknown }).command : undefined;
  const text = typeof command === 'string' ? command : `${tool} ${JSON.stringify(input ?? {})}`;
  return text.length > MAX_STEP_CHARS ? `${text.slice(0, MAX_STEP_CHARS)}…` : text;
}

/** Output compared across attempts: digits blanked (timings, pids, dates), whitespace collapsed. */
export function normalizedFailure(output: string): string {
  return output.replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

function stepKey(tool: string, input: unknown): string {
  return digest(`${tool}\0${JSON.stringify(input ?? null)}`);
}

function isTestRun(step: ObservedStep, testCommand: string | undefined): boolean {
  if (testCommand === undefined || step.tool !== 'shell') return false;
  const command = (step.input as { command?: unknown } | null)?.command;
  return typeof command === 'string' && command.trim() === testCommand.trim();
}

/** The end of a failure, where the error usually is. */
function failureExcerpt(output: string): string {
  return output.length > MAX_FAILURE_CHARS ? `…${output.slice(-MAX_FAILURE_CHARS)}` : output;
}

export class StuckDetector {
  private readonly repeatedFailures: number;
  private readonly idleTurns: number;
  /** stepKey → the failure it gave last and how many times in a row. */
  private readonly failures = new Map<string, { failure: string; times: number }>();
  private lastWorkspace: string | undefined;
  private lastTests: string | undefined;
  private idle = 0;
  private recentSteps: string[] = [];

  constructor(private readonly options: StuckDetectorOptions = {}) {
    this.repeatedFailures = options.repeatedFailures ?? STUCK_REPEATED_FAILURES;
    this.idleTurns = options.idleTurns ?? STUCK_IDLE_TURNS;
  }

  /** Takes one turn; a verdict when the run looks stuck (the detector starts over after one). */
  observe(observation: TurnObservation): StuckVerdict | undefined {
    let repeated: StuckVerdict | undefined;
    let tests = this.lastTests;
    for (const step of observation.steps) {
      const key = stepKey(step.tool, step.input);
      if (isTestRun(step, this.options.testCommand)) tests = digest(normalizedFailure(step.output));
      if (!step.failed) {
        this.failures.delete(key);
        continue;
      }
      const failure = digest(normalizedFailure(step.output));
      const seen = this.failures.get(key);
      const times = seen?.failure === failure ? seen.times + 1 : 1;
      this.failures.set(key, { failure, times });
      if (times >= this.repeatedFailures && !repeated) {
        const described = describeStep(step.tool, step.input);
        repeated = {
          message: `The agent ran the same failing step ${times} times with the same result: ${described}. It is paused instead of spending more budget: send it a hint to go on.`,
          details: {
            kind: 'repeated_failure',
            tool: step.tool,
            step: described,
            failure: failureExcerpt(step.output),
            times,
            turn: observation.turn,
          },
        };
      }
    }

    const changed = observation.workspace !== this.lastWorkspace || tests !== this.lastTests;
    // The first turn sets the baseline: there is nothing to compare it with.
    this.idle = this.lastWorkspace === undefined || changed ? 0 : this.idle + 1;
    this.lastWorkspace = observation.workspace;
    this.lastTests = tests;
    this.recentSteps = [...this.recentSteps, ...observation.steps.map((s) => describeStep(s.tool, s.input))].slice(-5);

    if (repeated) return this.reset(repeated);
    if (this.idle >= this.idleTurns) {
      const turns = this.idle;
      return this.reset({
        message: `The agent took ${turns} turns without changing a file or the test results. It is paused instead of spending more budget: send it a hint to go on.`,
        details: { kind: 'no_progress', turns, turn: observation.turn, lastSteps: this.recentSteps },
      });
    }
    return undefined;
  }

  private reset(verdict: StuckVerdict): StuckVerdict {
    this.failures.clear();
    this.idle = 0;
    this.recentSteps = [];
    return verdict;
  }
}

/** What the resumed conversation is told: the requester's hint, after the runner paused the run as stuck. */
export function stuckHintText(hint: string): string {
  return `[runner] You seemed stuck, so the run paused and asked the requester for help. Their hint:\n${hint}`;
}
