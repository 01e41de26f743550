import { RunId } from '../../core/runs/schemas';
import { newRunId, runIdGenerator, runIdTime } from '../../core/runs/run-id';

describe('run ids', () => {
  it('Given a clock, When a run id is made, Then it is a ULID that carries its creation time', () => {
    const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = runIdGenerator(() => at)();
    expect(RunId.safeParse(id).success).toBe(true);
    expect(runIdTime(id).getTime()).toBe(at);
  });

  it('Given a clock that repeats a millisecond and steps back, When run ids are made, Then they sort in creation order and are distinct', () => {
    const clock = [1000, 1000, 1000, 999, 1001];
    const next = runIdGenerator(() => clock.shift()!);
    const ids = [next(), next(), next(), next(), next()];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('Given a random part about to carry, When the next run id is made, Then the random part increments across the carry', () => {
    const next = runIdGenerator(
      () => 5,
      () => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1f]),
    );
    const first = next();
    const second = next();
    expect(first.slice(-2)).toBe('0Z');
    expect(second.slice(-2)).toBe('10');
  });

  it('Given an exhausted random part, When another run id is made in the same millisecond, Then it refuses to wrap', () => {
    const next = runIdGenerator(
      () => 5,
      () => Buffer.alloc(10, 0xff),
    );
    next();
    expect(() => next()).toThrow(RangeError);
  });

  it('Given the process-wide generator, When it makes 5000 run ids, Then they are unique and in creation order', () => {
    const ids = Array.from({ length: 5_000 }, () => newRunId());
    expect(new Set(ids).size).toBe(5_000);
    expect([...ids].sort()).toEqual(ids);
  });
});
