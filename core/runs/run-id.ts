import { randomBytes } from 'node:crypto';

/**
 * Run ids are ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds then 80 random bits, in
 * Crockford base32. Monotonic within a process: ids made in the same millisecond (or after the clock
 * stepped back) increment the previous random part, so ids from one submitter always sort in creation order.
 */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const maxTime = 2 ** 48 - 1;
const randomBits = 80n;
const maxRandom = (1n << randomBits) - 1n;

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = alphabet[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export interface RunIdGenerator {
  (): string;
}

/** A monotonic ULID generator; `now` and `random` are injectable for tests. */
export function runIdGenerator(now: () => number = Date.now, random: (bytes: number) => Buffer = randomBytes): RunIdGenerator {
  let lastTime = -1;
  let lastRandom = 0n;
  return () => {
    let time = now();
    if (!Number.isInteger(time) || time < 0 || time > maxTime) throw new RangeError(`cannot encode time ${time} in a ULID`);
    if (time <= lastTime) {
      time = lastTime;
      if (lastRandom === maxRandom) throw new RangeError('ULID random part overflowed within one millisecond');
      lastRandom += 1n;
    } else {
      lastTime = time;
      lastRandom = BigInt(`0x${random(10).toString('hex')}`);
    }
    return ulidOf(time, lastRandom);
  };
}

/** The ULID of a time (ms) and an 80-bit random part: for ids derived from something else instead of drawn. */
export function ulidOf(timeMs: number, random: bigint): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > maxTime) throw new RangeError(`cannot encode time ${timeMs} in a ULID`);
  return encode(BigInt(timeMs), 10) + encode(random & maxRandom, 16);
}

/** The process-wide generator. */
export const newRunId: RunIdGenerator = runIdGenerator();

/** The creation time encoded in a run id. */
export function runIdTime(runId: string): Date {
  let value = 0;
  for (const ch of runId.slice(0, 10)) {
    const digit = alphabet.indexOf(ch);
    if (digit < 0) throw new RangeError(`not a ULID: ${runId}`);
    value = value * 32 + digit;
  }
  return new Date(value);
}
