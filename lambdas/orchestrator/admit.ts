import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { ensureProxyForRun } from '../../core/egress/proxy-demand';
import { admitRun, type AdmissionResult } from '../../core/runs/admission';
import { WAKE_CLAIM_MS } from '../../core/runs/queue-wake';
import { CapacityProvider } from '../../core/runs/lifecycle';
import { RunId } from '../../core/runs/schemas';
import { admitDepsFromEnv, lazyOrchestratorDeps, orchestratorLogger, type AdmitDeps } from './deps';

/** The Admit state's payload (its Parameters): the run, its repository, the capacity its execution asks for, and the state's task token. */
export const AdmitTaskInput = z
  .object({ runId: RunId, repo: RepoName, capacityProvider: CapacityProvider, token: z.string().min(1) })
  .strict();

/**
 * The Admit task, invoked with lambda:invoke.waitForTaskToken. A decision (admitted, cancelled,
 * expired, ended) completes the state at once with SendTaskSuccess; a run that must wait leaves the
 * state waiting, its token stored with its queue entry, until a released slot wakes it
 * (core/runs/queue-wake.ts) or the state's re-check timeout runs Admit again. An admitted run first gets
 * its on-demand egress proxy started, when the proxy is on demand. Errors are thrown, never
 * returned, so the state's Retry and Catch act on them. The return value is not the state's result.
 */
export function createAdmitHandler(deps: () => AdmitDeps) {
  return async function handler(event: unknown): Promise<AdmissionResult> {
    const input = AdmitTaskInput.parse(event);
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: input.runId } });
    const d = deps();
    const { wokenAt, ...admission } = await admitRun(d, input.runId, input.capacityProvider, input.token);
    // The run key is a secret: only the decision is logged.
    logger.info('admission', {
      decision: admission.decision,
      queuePosition: admission.queuePosition,
      capacityProvider: admission.capacityProvider,
    });
    if (admission.decision === 'queued') {
      // A slot may have been freed before the token was stored, which woke nobody: wake whoever the free
      // capacity admits now, this run too, unless it was just woken and found no slot after all.
      const now = (d.now?.() ?? new Date()).getTime();
      const justWoken = wokenAt != null && now - Date.parse(wokenAt) < WAKE_CLAIM_MS;
      await d.wakeQueue?.(justWoken ? { exclude: input.runId } : {});
      return admission;
    }
    if (admission.decision === 'admitted' && d.proxy) {
      // The on-demand egress proxy starts now, while the runner task starts; the runner waits for it, bounded.
      // After the slots were taken: the idle tick reads them again after it stops the proxy (core/egress/proxy-demand.ts).
      logger.info('egress proxy for the admitted run', { proxy: await ensureProxyForRun(d.proxy) });
    }
    const delivery = await d.completeTask(input.token, JSON.stringify(admission));
    // The state ended otherwise meanwhile (its re-check timeout ran Admit again, or the execution stopped): that Admit decides.
    if (delivery === 'gone') logger.info('admission not delivered: the Admit state had already ended', { decision: admission.decision });
    return admission;
  };
}

export const handler = createAdmitHandler(lazyOrchestratorDeps(admitDepsFromEnv));
