import * as z from 'zod';
import type { ModelConfig } from './config/schema';

/**
 * Money is counted in integer micro-dollars (1 USD = 1,000,000) everywhere it is stored or summed,
 * so that ledger arithmetic is exact; USD floats exist only at the API edge.
 */
export const MICROS_PER_USD = 1_000_000;

export function usdToMicros(usd: number): number {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`not a valid USD amount: ${usd}`);
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

export const TokenUsage = z
  .object({
    input: z.number().int().nonnegative(),
    output: z.number().int().nonnegative(),
    cacheRead: z.number().int().nonnegative(),
    cacheWrite: z.number().int().nonnegative(),
  })
  .strict();
export type TokenUsage = z.infer<typeof TokenUsage>;

export const zeroUsage: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}

export type ModelPrices = ModelConfig['prices'];

/** Raised when a cost is asked for a model whose prices are not configured: a cost is never guessed as 0. */
export class UnknownModelPriceError extends Error {
  constructor(readonly modelId: string) {
    super(`no prices configured for model ${modelId}`);
    this.name = 'UnknownModelPriceError';
  }
}

/** Prices by model id, built from config; lookups of unknown ids throw. */
export class PriceTable {
  private readonly byModel: ReadonlyMap<string, ModelPrices>;

  constructor(entries: Iterable<readonly [string, ModelPrices]>) {
    this.byModel = new Map(entries);
  }

  static fromModelConfig(model: Pick<ModelConfig, 'id' | 'prices'>): PriceTable {
    return new PriceTable([[model.id, model.prices]]);
  }

  pricesFor(modelId: string): ModelPrices {
    const prices = this.byModel.get(modelId);
    if (!prices) throw new UnknownModelPriceError(modelId);
    return prices;
  }
}

function perMillion(tokens: number, usdPerMillion: number): number {
  // micro-USD = tokens * (USD / 1e6 tokens) * 1e6 = tokens * usdPerMillion
  return tokens * usdPerMillion;
}

/** Cost of one model call in micro-USD, rounded up so that a budget is never undercounted. */
export function modelCallMicros(usage: TokenUsage, prices: ModelPrices): number {
  const parsed = TokenUsage.parse(usage);
  const micros =
    perMillion(parsed.input, prices.input) +
    perMillion(parsed.output, prices.output) +
    perMillion(parsed.cacheRead, prices.cacheRead) +
    perMillion(parsed.cacheWrite, prices.cacheWrite);
  if (!Number.isFinite(micros)) throw new RangeError('model call cost is not finite');
  // Never -0 (Math.ceil of -1e-9), which Intl formats as "-0".
  return Math.max(0, Math.ceil(micros - 1e-9));
}

/**
 * The most one call can cost: every input token billed at the dearest input rate (plain or cache write)
 * and the full `maxOutputTokens` generated.
 */
export function worstCaseCallMicros(inputTokensEstimate: number, maxOutputTokens: number, prices: ModelPrices): number {
  if (!Number.isInteger(inputTokensEstimate) || inputTokensEstimate < 0)
    throw new RangeError(`bad input token estimate ${inputTokensEstimate}`);
  if (!Number.isInteger(maxOutputTokens) || maxOutputTokens <= 0) throw new RangeError(`bad maxOutputTokens ${maxOutputTokens}`);
  const dearestInput = Math.max(prices.input, prices.cacheWrite, prices.cacheRead);
  return Math.ceil(perMillion(inputTokensEstimate, dearestInput) + perMillion(maxOutputTokens, prices.output));
}

const utf8 = new TextEncoder();

/** Bytes per token assumed when estimating: low on purpose, so reservations over- rather than under-estimate. */
const BYTES_PER_TOKEN = 3;

/** Tokens of a value as a request carries it, estimated on the high side (the runner's reservations and the submit floor). */
export function estimateTokens(value: unknown): number {
  // TextEncoder, not Buffer: the console's client imports this module too.
  return Math.ceil(utf8.encode(JSON.stringify(value)).length / BYTES_PER_TOKEN);
}

/**
 * Input tokens of a run's first model call besides the task: the system prompt and the tool
 * definitions, without the repository's own instructions (test/runner/task-message.test.ts checks the
 * runner's stay under it).
 */
export const FIRST_CALL_FIXED_INPUT_TOKENS = 4_000;

/**
 * The worst case of a run's first model call: the least a budget must hold for the run to make any
 * call at all (the runner reserves each call's worst case before making it). A budget below it is
 * refused at submit instead of ending BUDGET_EXCEEDED before the first turn.
 */
export function firstCallWorstCaseMicros(prompt: string, model: Pick<ModelConfig, 'maxOutputTokens' | 'prices'>): number {
  return worstCaseCallMicros(FIRST_CALL_FIXED_INPUT_TOKENS + estimateTokens(prompt), model.maxOutputTokens, model.prices);
}

export type FargatePrices = Pick<ModelConfig['fargate'], 'vcpuHourUsd' | 'gbHourUsd' | 'vcpu' | 'memoryGb'>;

/** Compute cost of `seconds` of one runner task, in micro-USD, rounded up. */
export function computeMicros(seconds: number, fargate: FargatePrices): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`bad compute seconds ${seconds}`);
  const hours = seconds / 3600;
  const usd = hours * (fargate.vcpu * fargate.vcpuHourUsd + fargate.memoryGb * fargate.gbHourUsd);
  return Math.max(0, Math.ceil(usd * MICROS_PER_USD - 1e-9));
}
