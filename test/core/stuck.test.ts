import {
  describeStep,
  normalizedFailure,
  STUCK_IDLE_TURNS,
  STUCK_REPEATED_FAILURES,
  StuckDetails,
  StuckDetector,
  type ObservedStep,
  type StuckVerdict,
} from '../../core/runs/stuck';
import { resumeText } from '../../core/inbox/budget-approval';

const failingTest: ObservedStep = {
  tool: 'shell',
  input: { command: 'npm test' },
  failed: true,
  output: 'FAIL test/slugify.test.js (0.53 s)\nexpected "a-b" got "a--b"\nexit code 1',
};
const sameFailureOtherTiming: ObservedStep = {
  ...failingTest,
  output: 'FAIL test/slugify.test.js (0.71 s)\nexpected "a-b" got "a--b"\nexit code 1',
};
const read = (path: string): ObservedStep => ({ tool: 'read_file', input: { path }, failed: false, output: 'contents' });

describe('stuck detection', () => {
  it(`Given the same command failing the same way ${STUCK_REPEATED_FAILURES} times, When the last one is observed, Then the run is stuck with what repeats`, () => {
    const detector = new StuckDetector({ testCommand: 'npm test' });
    expect(detector.observe({ turn: 1, steps: [failingTest], workspace: 'w1' })).toBeUndefined();
    // Editing in between does not hide that the same failure comes back.
    expect(detector.observe({ turn: 2, steps: [sameFailureOtherTiming], workspace: 'w2' })).toBeUndefined();
    const verdict = detector.observe({ turn: 3, steps: [failingTest], workspace: 'w3' });
    expect(verdict).toBeDefined();
    expect(StuckDetails.parse(verdict!.details)).toEqual({
      kind: 'repeated_failure',
      tool: 'shell',
      step: 'npm test',
      failure: failingTest.output,
      times: 3,
      turn: 3,
    });
    expect(verdict!.message).toContain('npm test');
  });

  it('Given a failure that changes between attempts, When observed, Then the count starts over', () => {
    const detector = new StuckDetector();
    detector.observe({ turn: 1, steps: [failingTest], workspace: 'w1' });
    detector.observe({ turn: 2, steps: [failingTest], workspace: 'w2' });
    expect(
      detector.observe({ turn: 3, steps: [{ ...failingTest, output: 'FAIL: a different assertion' }], workspace: 'w3' }),
    ).toBeUndefined();
    expect(detector.observe({ turn: 4, steps: [failingTest], workspace: 'w4' })).toBeUndefined();
  });

  it('Given a failing command that then succeeds, When it fails again, Then the count starts over', () => {
    const detector = new StuckDetector();
    detector.observe({ turn: 1, steps: [failingTest], workspace: 'w1' });
    detector.observe({ turn: 2, steps: [failingTest], workspace: 'w2' });
    detector.observe({ turn: 3, steps: [{ ...failingTest, failed: false, output: 'ok' }], workspace: 'w3' });
    expect(detector.observe({ turn: 4, steps: [failingTest], workspace: 'w4' })).toBeUndefined();
    expect(detector.observe({ turn: 5, steps: [failingTest], workspace: 'w5' })).toBeUndefined();
    expect(detector.observe({ turn: 6, steps: [failingTest], workspace: 'w6' })?.details).toMatchObject({
      kind: 'repeated_failure',
      times: 3,
    });
  });

  it(`Given ${STUCK_IDLE_TURNS} turns without a change to files or test results, When the last is observed, Then the run is stuck with no progress`, () => {
    const detector = new StuckDetector({ testCommand: 'npm test' });
    let verdict: StuckVerdict | undefined;
    for (let turn = 1; turn <= STUCK_IDLE_TURNS + 1 && !verdict; turn++) {
      verdict = detector.observe({ turn, steps: [read(`f${turn}.js`)], workspace: 'same' });
      if (turn <= STUCK_IDLE_TURNS) expect(verdict).toBeUndefined();
    }
    expect(verdict?.details).toEqual({
      kind: 'no_progress',
      turns: STUCK_IDLE_TURNS,
      turn: STUCK_IDLE_TURNS + 1,
      lastSteps: expect.arrayContaining([`read_file {"path":"f${STUCK_IDLE_TURNS + 1}.js"}`]),
    });
  });

  it('Given turns that change the test results but no file, When observed, Then that is progress', () => {
    const detector = new StuckDetector({ testCommand: 'npm test', idleTurns: 3 });
    const run = (n: number): ObservedStep => ({
      tool: 'shell',
      input: { command: 'npm test' },
      failed: false,
      output: `${n === 1 ? 'one' : n === 2 ? 'two' : n === 3 ? 'three' : 'four'} passing`,
    });
    for (let turn = 1; turn <= 4; turn++) expect(detector.observe({ turn, steps: [run(turn)], workspace: 'same' })).toBeUndefined();
    // The same result again, three turns running: no progress.
    expect(detector.observe({ turn: 5, steps: [run(4)], workspace: 'same' })).toBeUndefined();
    expect(detector.observe({ turn: 6, steps: [run(4)], workspace: 'same' })).toBeUndefined();
    expect(detector.observe({ turn: 7, steps: [run(4)], workspace: 'same' })?.details).toMatchObject({ kind: 'no_progress', turns: 3 });
  });

  it('Given a verdict, When the run goes on, Then the detector starts over', () => {
    const detector = new StuckDetector({ repeatedFailures: 2 });
    detector.observe({ turn: 1, steps: [failingTest], workspace: 'w' });
    expect(detector.observe({ turn: 2, steps: [failingTest], workspace: 'w' })).toBeDefined();
    expect(detector.observe({ turn: 3, steps: [failingTest], workspace: 'w' })).toBeUndefined();
  });

  it('Given steps, When described and compared, Then a shell step is its command, digits do not count, and long inputs are cut', () => {
    expect(describeStep('shell', { command: 'npm test' })).toBe('npm test');
    expect(describeStep('edit_file', { path: 'a.js' })).toBe('edit_file {"path":"a.js"}');
    expect(describeStep('shell', { command: 'x'.repeat(600) })).toHaveLength(501);
    expect(normalizedFailure('took 12 ms\n  at 10:42')).toBe(normalizedFailure('took 7 ms at 9:01'));
  });

  it('Given a hint for a stuck run, When the run resumes, Then the hint is told as the runner note', () => {
    expect(resumeText('stuck', 'The test expects trimming; look at the regex.')).toBe(
      '[runner] You seemed stuck, so the run paused and asked the requester for help. Their hint:\nThe test expects trimming; look at the regex.',
    );
  });
});
