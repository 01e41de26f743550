import * as z from 'zod';

/**
 * The definition as aws-local-stepfunctions gets it: the synthesized one, with what the interpreter
 * would do differently from AWS taken out of its hands (the executor, executor.ts, runs it).
 */

/** Longest task timeout a Node timer can hold; AWS tasks have no default timeout, the library's is 60 s. */
const UNBOUNDED_TASK_SECONDS = 2_000_000;
/** Longest delay a Node timer honours, in whole seconds (about 24.8 days). */
const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);

export type StateJson = Record<string, unknown>;

export interface PreparedDefinition {
  /** What the interpreter runs. */
  definition: Record<string, unknown>;
  /** Task states by name, as prepared (their Resource unchanged). */
  taskStates: Map<string, StateJson>;
  /** Wait states, whose Seconds a local wait may override. */
  waitStates: string[];
  /** States with a Retry, whose intervals a local retry interval may override. */
  retryStates: string[];
  /** Callback states whose static TimeoutSeconds (scaled, whole seconds) the interpreter itself enforces. */
  nativeTimeouts: Map<string, number>;
}

export interface DefinitionPreparationOptions {
  /** Callback tasks' clocks run this much faster or slower (LocalStateMachineOptions.callbackTimeScale). Default 1. */
  callbackTimeScale?: number;
  /** Throws when a task state's resource cannot run locally (the library would otherwise call AWS). */
  requireLocalResource: (resource: string) => void;
}

/**
 * The library's view of the states: callback states carry their timeouts in their input (the
 * registry runs the clocks: TimeoutSeconds and HeartbeatSeconds, static or by path), and no task
 * gets the library's 60-second default timeout that AWS does not have. Parallel and Map states are
 * refused.
 */
export function prepareDefinition(definition: Record<string, unknown>, options: DefinitionPreparationOptions): PreparedDefinition {
  const taskStates = new Map<string, StateJson>();
  const waitStates: string[] = [];
  const retryStates: string[] = [];
  const nativeTimeouts = new Map<string, number>();
  const states: Record<string, StateJson> = {};
  for (const [name, original] of Object.entries(z.record(z.string(), z.record(z.string(), z.unknown())).parse(definition.States))) {
    const state: StateJson = { ...original };
    if (state.Type === 'Wait') waitStates.push(name);
    if (Array.isArray(state.Retry)) retryStates.push(name);
    if (state.Type === 'Task') {
      if (taskStates.has(name)) throw new Error(`task state name ${name} is used twice`);
      const resource = z.string().parse(state.Resource);
      if (resource.endsWith('.waitForTaskToken')) {
        const timeouts: StateJson = {};
        for (const field of ['TimeoutSeconds', 'HeartbeatSeconds'] as const) {
          if (state[field] !== undefined) timeouts[field] = state[field];
          if (state[`${field}Path`] !== undefined) timeouts[`${field}.$`] = state[`${field}Path`];
          delete state[field];
          delete state[`${field}Path`];
        }
        state.Parameters = {
          ...(state.Parameters === undefined ? { 'Parameters.$': '$' } : { Parameters: state.Parameters }),
          ...timeouts,
        };
        state.TimeoutSeconds = UNBOUNDED_TASK_SECONDS;
        if (
          typeof timeouts.TimeoutSeconds === 'number' &&
          timeouts.HeartbeatSeconds === undefined &&
          timeouts['HeartbeatSeconds.$'] === undefined
        ) {
          // The interpreter takes whole seconds only: a scaled timeout is rounded (at least 1 s).
          const seconds = Math.max(1, Math.round(timeouts.TimeoutSeconds * (options.callbackTimeScale ?? 1)));
          state.TimeoutSeconds = seconds;
          nativeTimeouts.set(name, seconds);
        }
      } else if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        state.TimeoutSeconds = UNBOUNDED_TASK_SECONDS;
      }
      taskStates.set(name, state);
      options.requireLocalResource(resource);
    }
    if (state.Type === 'Parallel' || state.Type === 'Map')
      throw new Error(`${state.Type} states are not supported by the local executor (${name})`);
    states[name] = state;
  }
  const prepared: Record<string, unknown> = { ...definition, States: states };
  // A Node timer fires at once beyond ~24.8 days: longer execution timeouts (weeks of waiting for
  // humans) are held at the longest one a timer can keep.
  if (typeof prepared.TimeoutSeconds === 'number' && prepared.TimeoutSeconds > MAX_TIMER_SECONDS)
    prepared.TimeoutSeconds = MAX_TIMER_SECONDS;
  return { definition: prepared, taskStates, waitStates, retryStates, nativeTimeouts };
}
