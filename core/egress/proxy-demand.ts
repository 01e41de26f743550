import * as z from 'zod';

/**
 * The egress proxy on demand (config `network.proxy: "on-demand"`, docs/network.md#on-demand-proxy):
 * the proxy service runs while runs need it and scales to zero after `network.proxyIdleMinutes`
 * without one. Written once here and used by the Admit function, the run gauges and local mode:
 * - admission starts it (desired count 1) for the run it admits, after the run took its slots;
 * - the runner waits, bounded, for the proxy to answer before it does any work;
 * - the per-minute tick stops it once it has seen it idle long enough, and starts it again when runs
 *   hold slots while it is down (a start lost in a race or a failed call).
 * A run that needs the proxy is a run that holds a global concurrency slot: admitted, starting or
 * running. A paused run holds none (docs/inbox.md) and gets the proxy again through admission.
 */

/** What the proxy service looks like to the platform: how many tasks it should run and how many do. */
export const ProxyServiceState = z.object({
  desiredCount: z.number().int().min(0),
  runningCount: z.number().int().min(0),
});
export type ProxyServiceState = z.infer<typeof ProxyServiceState>;

/** The proxy service (an ECS service on AWS, the local squid in local mode). */
export interface ProxyServicePort {
  describe(): Promise<ProxyServiceState>;
  /** Sets the desired count; idempotent. */
  scaleTo(desiredCount: 0 | 1): Promise<void>;
}

/** When the tick first saw the proxy up with no run needing it (one control item). */
export interface ProxyIdleClockPort {
  idleSince(): Promise<string | undefined>;
  /** Records `at` unless a time is already recorded (the first sighting wins). */
  markIdle(at: string): Promise<void>;
  clear(): Promise<void>;
}

/** The runner's wait for an on-demand proxy: a check every 5 s, 36 checks, so three minutes at most. */
export const PROXY_START_CHECK_MS = 5_000;
export const PROXY_START_MAX_CHECKS = 36;

/**
 * After check number `check` (1-based) of a runner waiting for the proxy found it unreachable: `wait`
 * while checks remain, `give-up` after the last one (the run fails with `egress_proxy_unavailable`
 * rather than working without a network it was promised).
 */
export function proxyStartCheck(check: number, maxChecks: number = PROXY_START_MAX_CHECKS): 'wait' | 'give-up' {
  if (!Number.isInteger(check) || check < 1) throw new RangeError(`check must be a positive whole number, got ${check}`);
  if (!Number.isInteger(maxChecks) || maxChecks < 1) throw new RangeError(`maxChecks must be a positive whole number, got ${maxChecks}`);
  return check < maxChecks ? 'wait' : 'give-up';
}

/**
 * Admission, for a run that has just taken its slots: starts the proxy when it is scaled to zero.
 * `running`: a task runs; `starting`: a start is under way (desired 1, none running yet); `started`:
 * this call set the desired count to 1.
 */
export async function ensureProxyForRun(proxy: ProxyServicePort): Promise<'running' | 'starting' | 'started'> {
  const service = ProxyServiceState.parse(await proxy.describe());
  if (service.desiredCount > 0) return service.runningCount > 0 ? 'running' : 'starting';
  await proxy.scaleTo(1);
  return 'started';
}

/** What one tick did: `busy` runs need it; `idle` it is up and idle, not yet long enough; `stopped`; `down` and nobody needs it; `started` (again) for runs that hold slots. */
export type ProxyIdleStep = 'busy' | 'idle' | 'stopped' | 'down' | 'started';

export interface ProxyIdleDeps {
  proxy: ProxyServicePort;
  clock: ProxyIdleClockPort;
  /** Run ids holding a global slot: the runs that need the proxy. */
  activeRuns: () => Promise<readonly string[]>;
  idleMinutes: number;
  now: Date;
}

/**
 * The per-minute tick. The proxy stops only after the tick has seen it idle for `idleMinutes`
 * (counted from the first tick that saw no run, so a run that came and went between two ticks still
 * leaves it up that long). Admission takes its slots before it looks at the service, and the tick
 * reads the slots again after it stopped the service, so a run admitted meanwhile is never left
 * without a proxy: either admission sees the desired count at 0 and starts it, or the tick sees the
 * run and starts it again.
 */
export async function stopIdleProxy(deps: ProxyIdleDeps): Promise<{ step: ProxyIdleStep; activeRuns: number }> {
  if (!Number.isInteger(deps.idleMinutes) || deps.idleMinutes < 1)
    throw new RangeError(`idleMinutes must be a positive whole number, got ${deps.idleMinutes}`);
  const [service, active, idleSince] = await Promise.all([deps.proxy.describe(), deps.activeRuns(), deps.clock.idleSince()]);
  const { desiredCount } = ProxyServiceState.parse(service);
  if (desiredCount === 0) {
    if (idleSince !== undefined) await deps.clock.clear();
    if (active.length === 0) return { step: 'down', activeRuns: 0 };
    await deps.proxy.scaleTo(1);
    return { step: 'started', activeRuns: active.length };
  }
  if (active.length > 0) {
    if (idleSince !== undefined) await deps.clock.clear();
    return { step: 'busy', activeRuns: active.length };
  }
  if (idleSince === undefined) {
    await deps.clock.markIdle(deps.now.toISOString());
    return { step: 'idle', activeRuns: 0 };
  }
  if (deps.now.getTime() - Date.parse(idleSince) < deps.idleMinutes * 60_000) return { step: 'idle', activeRuns: 0 };
  await deps.proxy.scaleTo(0);
  await deps.clock.clear();
  const admittedMeanwhile = await deps.activeRuns();
  if (admittedMeanwhile.length === 0) return { step: 'stopped', activeRuns: 0 };
  await deps.proxy.scaleTo(1);
  return { step: 'started', activeRuns: admittedMeanwhile.length };
}
