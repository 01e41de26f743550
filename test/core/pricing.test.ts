import {
  PriceTable,
  UnknownModelPriceError,
  addUsage,
  computeMicros,
  microsToUsd,
  modelCallMicros,
  usdToMicros,
  worstCaseCallMicros,
} from '../../core/pricing';

const prices = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

describe('pricing', () => {
  it('Given a call with all four kinds of tokens, When it is priced, Then each kind is charged at its own price per million', () => {
    // Given a call with all four kinds of tokens
    const usage = { input: 1_000, output: 500, cacheRead: 10_000, cacheWrite: 2_000 };
    // When it is priced
    const micros = modelCallMicros(usage, prices);
    // Then it is 1000*3 + 500*15 + 10000*0.3 + 2000*3.75 micro-USD
    expect(micros).toBe(3_000 + 7_500 + 3_000 + 7_500);
    expect(microsToUsd(micros)).toBeCloseTo(0.021, 9);
  });

  it('Given a call whose cost is a fractional number of micro-USD, When it is priced, Then it is rounded up so a budget is never undercounted', () => {
    expect(modelCallMicros({ input: 1, output: 0, cacheRead: 1, cacheWrite: 0 }, prices)).toBe(4); // 3 + 0.3
  });

  it('Given usage that is negative or fractional token counts, When it is priced, Then it is refused', () => {
    expect(() => modelCallMicros({ input: -1, output: 0, cacheRead: 0, cacheWrite: 0 }, prices)).toThrow();
    expect(() => modelCallMicros({ input: 1.5, output: 0, cacheRead: 0, cacheWrite: 0 }, prices)).toThrow();
  });

  it('Given cache writes dearer than plain input, When the worst case is priced, Then every input token is priced at the dearest rate plus every output token, and no real call with that input and output costs more', () => {
    // Given cache writes dearer than plain input
    // When the worst case of a 10k-token request with maxTokens 4096 is computed
    const worst = worstCaseCallMicros(10_000, 4_096, prices);
    // Then every input token is priced as a cache write and all output tokens are counted
    expect(worst).toBe(10_000 * 3.75 + 4_096 * 15);
    // And no real call with that input and output can cost more
    const real = modelCallMicros({ input: 2_000, output: 4_096, cacheRead: 4_000, cacheWrite: 4_000 }, prices);
    expect(real).toBeLessThanOrEqual(worst);
  });

  it('Given a price table for one model, When another model is looked up, Then it is an unknown-price error, never 0; the configured model answers its prices', () => {
    const table = PriceTable.fromModelConfig({ id: 'anthropic.claude-x', prices });
    expect(table.pricesFor('anthropic.claude-x')).toEqual(prices);
    expect(() => table.pricesFor('other.model')).toThrow(UnknownModelPriceError);
  });

  it('Given a Fargate size and a duration, When compute is priced, Then it costs its vCPU-hours plus GB-hours, and a negative duration is refused', () => {
    const fargate = { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445, vcpu: 1, memoryGb: 4 };
    // 20 minutes of 1 vCPU / 4 GB: (0.04048 + 4 * 0.004445) / 3 USD
    expect(computeMicros(20 * 60, fargate)).toBe(19_420); // 0.05826 USD/h for a third of an hour
    expect(() => computeMicros(-1, fargate)).toThrow(RangeError);
  });

  it('Given USD amounts, When they are converted, Then they are whole micro-USD exactly (0.1 + 0.2 is 300000) and NaN or a negative amount is refused', () => {
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
    expect(() => usdToMicros(Number.NaN)).toThrow(RangeError);
    expect(() => usdToMicros(-1)).toThrow(RangeError);
  });

  it('Given two usages, When they are added, Then each token count is the sum of the two', () => {
    expect(
      addUsage({ input: 1, output: 2, cacheRead: 3, cacheWrite: 4 }, { input: 10, output: 20, cacheRead: 30, cacheWrite: 40 }),
    ).toEqual({
      input: 11,
      output: 22,
      cacheRead: 33,
      cacheWrite: 44,
    });
  });
});
