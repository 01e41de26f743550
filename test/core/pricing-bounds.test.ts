import {
  computeMicros,
  estimateTokens,
  FIRST_CALL_FIXED_INPUT_TOKENS,
  firstCallWorstCaseMicros,
  modelCallMicros,
  PriceTable,
  UnknownModelPriceError,
  usdToMicros,
  worstCaseCallMicros,
} from '../../core/pricing';

/** The edges of the money arithmetic: what each input check refuses, and where rounding goes up, never down. */
const prices = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
const fargate = { vcpuHourUsd: 0.04, gbHourUsd: 0.005, vcpu: 1, memoryGb: 2 };

describe('pricing at its bounds', () => {
  it('Given an input token estimate that is negative, fractional or not a number, When the worst case is priced, Then it is refused (a negative estimate would under-reserve)', () => {
    for (const estimate of [-1, -1_000, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => worstCaseCallMicros(estimate, 100, prices)).toThrow(new RangeError(`bad input token estimate ${estimate}`));
    }
  });

  it('Given maxOutputTokens that is zero, negative, fractional or not a number, When the worst case is priced, Then it is refused', () => {
    for (const max of [0, -1, 2.5, Number.NaN]) {
      expect(() => worstCaseCallMicros(10, max, prices)).toThrow(new RangeError(`bad maxOutputTokens ${max}`));
    }
  });

  it('Given the smallest valid inputs (no input, one output token), When the worst case is priced, Then it is the price of that one token', () => {
    expect(worstCaseCallMicros(0, 1, prices)).toBe(15);
  });

  it('Given each input rate in turn the dearest, When the worst case is priced, Then every input token is priced at it', () => {
    expect(worstCaseCallMicros(1_000, 1, { input: 9, output: 1, cacheRead: 2, cacheWrite: 3 })).toBe(9_001);
    expect(worstCaseCallMicros(1_000, 1, { input: 2, output: 1, cacheRead: 3, cacheWrite: 9 })).toBe(9_001);
    expect(worstCaseCallMicros(1_000, 1, { input: 2, output: 1, cacheRead: 9, cacheWrite: 3 })).toBe(9_001);
  });

  it('Given a fractional worst case, When it is priced, Then it is rounded up', () => {
    expect(worstCaseCallMicros(1, 1, { input: 0.2, output: 0.1, cacheRead: 0.1, cacheWrite: 0.1 })).toBe(1);
  });

  it('Given a call whose cost is a whole number of micro-USD, When it is priced, Then it is not rounded up past it, and nothing costs 0 (not -0, which formats as "-0")', () => {
    expect(modelCallMicros({ input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, prices)).toBe(18);
    expect(modelCallMicros({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, prices)).toBe(0);
    // 10 * 0.3 is 3.0000000000000004 in floating point: still 3.
    expect(modelCallMicros({ input: 0, output: 0, cacheRead: 10, cacheWrite: 0 }, prices)).toBe(3);
  });

  it('Given prices that make a cost infinite, When a call is priced, Then it is an error, not a number', () => {
    expect(() =>
      modelCallMicros({ input: 1, output: 0, cacheRead: 0, cacheWrite: 0 }, { ...prices, input: Number.POSITIVE_INFINITY }),
    ).toThrow(new RangeError('model call cost is not finite'));
  });

  it('Given a prompt, When the first call is priced, Then it is the worst case of the fixed input plus the prompt, with every output token', () => {
    const model = { maxOutputTokens: 1_000, prices };
    // "\"héllo\"" is 8 bytes in UTF-8: 3 tokens at 3 bytes a token, rounded up.
    expect(estimateTokens('héllo')).toBe(3);
    expect(estimateTokens({ a: 1 })).toBe(3); // {"a":1}: 7 bytes
    expect(firstCallWorstCaseMicros('héllo', model)).toBe(worstCaseCallMicros(FIRST_CALL_FIXED_INPUT_TOKENS + 3, 1_000, prices));
    expect(firstCallWorstCaseMicros('héllo', model)).toBe(Math.ceil((FIRST_CALL_FIXED_INPUT_TOKENS + 3) * 3.75 + 1_000 * 15));
  });

  it('Given compute seconds that are negative or not finite, When compute is priced, Then it is refused; zero costs 0 (not -0) and an hour costs its hourly rate exactly', () => {
    for (const seconds of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => computeMicros(seconds, fargate)).toThrow(new RangeError(`bad compute seconds ${seconds}`));
    expect(computeMicros(0, fargate)).toBe(0);
    expect(computeMicros(3_600, fargate)).toBe(50_000);
    expect(computeMicros(1, fargate)).toBe(14); // 13.89 rounded up
  });

  it('Given USD amounts, When they are converted, Then zero is zero, half a micro-USD rounds, and infinity is refused', () => {
    expect(usdToMicros(0)).toBe(0);
    expect(usdToMicros(1.5)).toBe(1_500_000);
    expect(usdToMicros(0.0000015)).toBe(2);
    expect(() => usdToMicros(Number.POSITIVE_INFINITY)).toThrow(new RangeError('not a valid USD amount: Infinity'));
  });

  it('Given a price table of several models, When each is looked up, Then it answers its own prices and names the missing one', () => {
    const other = { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 };
    const table = new PriceTable([
      ['a', prices],
      ['b', other],
    ]);
    expect(table.pricesFor('b')).toBe(other);
    expect(table.pricesFor('a')).toBe(prices);
    expect(() => table.pricesFor('c')).toThrow(new UnknownModelPriceError('c'));
    expect(() => table.pricesFor('c')).toThrow(
      expect.objectContaining({ name: 'UnknownModelPriceError', modelId: 'c', message: 'no prices configured for model c' }),
    );
  });
});
