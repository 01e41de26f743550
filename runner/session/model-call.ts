import { abortableSleep, isRetryableModelError, type Sleep } from '../model/bedrock-provider';
import { usageOf, type ConverseResponse } from '../model/converse-response';
import { isUnbilledModelError } from '../model/model-errors';
import type { ModelRequest } from '../model/provider';
import type { ModelBudget } from '../model-budget';
import type { TokenUsage } from '../../core/pricing';
import type { ComputeMeter } from './compute-meter';
import type { RunContext } from './run-context';
import { Interrupted } from './run-errors';

/** Retries of a call that failed in a way that may have been billed, each under its own reservation. */
const BILLED_FAILURE_ATTEMPTS = 3;

export interface ModelCallResult {
  response: ConverseResponse;
  usage: TokenUsage;
  costMicros: number;
  durationMs: number;
}

export interface ModelCallOptions {
  sleep?: Sleep;
  /** Base of the backoff between billed-failure retries (ms). */
  retryBaseMs?: number;
}

/**
 * One model call with its money: compute so far is charged first (so the headroom check counts it),
 * the call's worst case is reserved (BudgetExhaustedError: the call is never made), and after the
 * call the reservation is settled at the real cost. On failure it is released only when the failure
 * is known to come before billing; otherwise it is settled at its worst case. A possibly-billed
 * failure that is retryable (a 5xx) is tried again under a new reservation.
 */
export async function callModel(
  ctx: RunContext,
  budget: ModelBudget,
  meter: ComputeMeter,
  request: ModelRequest,
  inputTokensEstimate: number,
  callId: string,
  options: ModelCallOptions = {},
): Promise<ModelCallResult> {
  const { deps } = ctx;
  for (let attempt = 1; ; attempt++) {
    const id = attempt === 1 ? callId : `${callId}-retry${attempt - 1}`;
    await meter.chargeSoFar();
    const worst = await budget.reserve(id, inputTokensEstimate, request.inferenceConfig?.maxTokens);
    const started = Date.now();
    if (ctx.timings.firstModelCall === undefined) {
      ctx.timings.firstModelCall = performance.now() - ctx.createdAt;
      // From the process's start (Node's bootstrap and the bundle's load included): bench/runner.bench.ts reads this line.
      ctx.log.info('first model call', {
        processUptimeMs: Math.round(process.uptime() * 1000),
        timings: Object.fromEntries(Object.entries(ctx.timings).map(([k, v]) => [k, Math.round(v)])),
      });
    }
    let response: ConverseResponse;
    let usage: TokenUsage;
    try {
      response = await deps.model.converse(request, deps.stop);
      usage = usageOf(response);
    } catch (err) {
      if (deps.stop.aborted) {
        await budget.settleAtWorst(id, worst);
        throw new Interrupted('stopped during a model call');
      }
      if (isUnbilledModelError(err)) {
        await budget.release(id);
        throw err;
      }
      await budget.settleAtWorst(id, worst);
      const message = ctx.redactor.redact(err instanceof Error ? err.message : String(err));
      await ctx.emit(
        'note',
        `model call ${id} failed after it may have been billed: settled at its worst case $${(worst / 1e6).toFixed(4)} (${message})`,
        { callId: id, worstMicros: worst, attempt },
      );
      if (attempt >= BILLED_FAILURE_ATTEMPTS || !isRetryableModelError(err)) throw err;
      await (options.sleep ?? abortableSleep)((options.retryBaseMs ?? 1_000) * 2 ** (attempt - 1), deps.stop).catch(() => {
        throw new Interrupted('stopped during a model call');
      });
      continue;
    }
    const costMicros = await budget.settle(id, usage);
    return { response, usage, costMicros, durationMs: Date.now() - started };
  }
}
