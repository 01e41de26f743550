import { RunId } from '../../core/runs/schemas';
import { newRunId, runIdGenerator, runIdTime } from '../../core/runs/run-id';

describe('run ids', () => {
  it('are ULIDs that carry their creation time', () => {
    const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = runIdGenerator(() => at)();
    expect(RunId.safeParse(id).success).toBe(true);
    expect(runIdTime(id).getTime()).toBe(at);
  });

  it('sort in creation order within one millisecond and when the clock steps back', () => {
    const clock = [1000, 1000, 1000, 999, 1001];
    const next = runIdGenerator(() => clock.shift()!);
    const ids = [next(), next(), next(), next(), next()];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('increment the random part across a carry', () => {
    const next = runIdGenerator(
      () => 5,
      () => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1f]),
    );
    const first = next();
    const second = next();
    expect(first.slice(-2)).toBe('0Z');
    expect(second.slice(-2)).toBe('10');
  });

  it('refuse to wrap when the random part is exhausted', () => {
    const next = runIdGenerator(
      () => 5,
      () => Buffer.alloc(10, 0xff),
    );
    next();
    expect(() => next()).toThrow(RangeError);
  });

  it('are unique across many calls of the process-wide generator', () => {
    const ids = Array.from({ length: 5_000 }, () => newRunId());
    expect(new Set(ids).size).toBe(5_000);
    expect([...ids].sort()).toEqual(ids);
  });
});
