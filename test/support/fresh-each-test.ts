/**
 * A harness started before each test of the file (or describe block) that calls this and stopped
 * after it, so no test sees another's state. The answer stands for the current test's harness (it
 * forwards every read and every write to it, so a method that sets a field of its harness sets it on
 * the current one), so a file writes `const db = freshEachTest(startDynalite)` once.
 */
export function freshEachTest<H extends { stop(): Promise<void> }>(start: () => Promise<H>): H {
  let current: H | undefined;
  beforeEach(async () => {
    current = await start();
  });
  afterEach(async () => {
    const stopping = current;
    current = undefined;
    await stopping?.stop();
  });
  const running = (): H => {
    if (!current) throw new Error('a fresh-each-test harness runs only while a test runs');
    return current;
  };
  return new Proxy({} as H, {
    get: (_target, property) => Reflect.get(running(), property, running()),
    set: (_target, property, value) => Reflect.set(running(), property, value),
  });
}
