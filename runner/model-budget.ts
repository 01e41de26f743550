import { addUsage, modelCallMicros, worstCaseCallMicros, zeroUsage, type ModelPrices, type TokenUsage } from '../core/pricing';
import type { RunnerLedger } from '../core/store/ports';

/**
 * One model call's money: its worst case (input estimate + maxTokens at the dearest rates) is
 * reserved with the ledger's conditional write before the call, and replaced by the real cost of
 * the reported usage after it. `BudgetExhaustedError` from the ledger means the call must not be made.
 */
export class ModelBudget {
  private usage: TokenUsage = { ...zeroUsage };
  private spent = 0;

  constructor(
    private readonly ledger: RunnerLedger,
    private readonly runId: string,
    private readonly prices: ModelPrices,
    private readonly maxTokens: number,
  ) {}

  /** `maxTokens`: the output limit of this call when it is not the configured one (a cut-off call asked again). */
  async reserve(callId: string, inputTokensEstimate: number, maxTokens = this.maxTokens): Promise<number> {
    const worst = worstCaseCallMicros(inputTokensEstimate, Math.max(maxTokens, this.maxTokens), this.prices);
    await this.ledger.reserveCall(this.runId, callId, worst);
    return worst;
  }

  async settle(callId: string, usage: TokenUsage): Promise<number> {
    const micros = modelCallMicros(usage, this.prices);
    await this.ledger.settleCall(this.runId, callId, micros, usage);
    this.usage = addUsage(this.usage, usage);
    this.spent += micros;
    return micros;
  }

  /** A call that failed before the model produced anything is not billed: its reservation is released. */
  async release(callId: string): Promise<void> {
    await this.ledger.settleCall(this.runId, callId, 0, { ...zeroUsage });
  }

  /** A call abandoned in flight may have been billed: it is settled at its reserved worst case. */
  async settleAtWorst(callId: string, worstMicros: number): Promise<void> {
    await this.ledger.settleCall(this.runId, callId, worstMicros, { ...zeroUsage });
    this.spent += worstMicros;
  }

  get totals(): { usage: TokenUsage; modelMicros: number } {
    return { usage: { ...this.usage }, modelMicros: this.spent };
  }
}
