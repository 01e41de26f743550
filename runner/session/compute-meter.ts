import { computeMicros, microsToUsd } from '../../core/pricing';
import { runnerMetricNames } from '../metrics';
import type { RunContext } from './run-context';

/**
 * Charges the run's Fargate time to its budget as it accrues. Charges are exactly once per id in the
 * ledger, so a charge that failed is retried with the same id and amount.
 */
export class ComputeMeter {
  /** Micro-USD charged so far, and the seconds they cover. */
  private charged = 0;
  private chargedSeconds = 0;
  private final = false;
  private seq = 0;
  private pending: { id: string; micros: number; seconds: number } | undefined;

  constructor(private readonly ctx: RunContext) {}

  get chargedMicros(): number {
    return this.charged;
  }

  /**
   * Charges the compute used since the last charge. Called before every model call's reservation, so the
   * reservation's headroom check sees compute too, and once at the end: a run's overshoot of its budget is
   * bounded by one call's worst case plus the compute of its last phase (head tests, push).
   */
  async chargeSoFar(): Promise<void> {
    if (!this.pending) {
      const { startedAt } = this.ctx;
      const elapsed = Math.max(0, (this.ctx.now().getTime() - startedAt.getTime()) / 1_000);
      const seconds = Math.max(0, elapsed - this.chargedSeconds);
      const micros = computeMicros(seconds, this.ctx.config.model.fargate);
      if (micros === 0) return;
      this.seq += 1;
      this.pending = { id: `compute-${startedAt.getTime()}-${this.seq}`, micros, seconds };
    }
    const charge = this.pending;
    await this.ctx.deps.ledger.charge(this.ctx.deps.runId, charge.id, charge.micros);
    this.pending = undefined;
    this.charged += charge.micros;
    this.chargedSeconds += charge.seconds;
    this.ctx.metrics.emit({ [runnerMetricNames.computeCostMicros]: charge.micros });
  }

  /** The final compute charge, once; its note carries the run's compute total. */
  async chargeFinal(): Promise<void> {
    if (this.final) return;
    await this.chargeSoFar();
    this.final = true;
    await this.ctx.emit('note', `compute charged: ${this.chargedSeconds.toFixed(1)} s, $${microsToUsd(this.charged).toFixed(6)}`, {
      computeSeconds: this.chargedSeconds,
      computeMicros: this.charged,
    });
  }

  /** The final charge, retried (safe: idempotent per charge id); the last error's message, or undefined once charged. */
  async chargeFinalWithRetries(attempts = 3): Promise<string | undefined> {
    let failure: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.chargeFinal();
        return undefined;
      } catch (err) {
        failure = this.ctx.redactor.redact((err as Error).message);
        this.ctx.log.error('could not charge compute', { attempt, error: failure });
      }
    }
    return failure;
  }
}
