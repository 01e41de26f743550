/**
 * Waits for a condition with a deadline, never a fixed sleep: polls `probe` every 25 ms until it
 * answers something other than `undefined` or `false`, and answers that; fails with `what` once
 * `timeoutMs` has passed. The one waiting helper of the tests.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
