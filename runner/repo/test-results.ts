import type { CoverageReading } from '../../core/change-coverage/change-coverage';
import { readReportFile } from './report-file';

/**
 * Results of one run of the repository's tests. Per-test results where the output can be parsed
 * (JUnit XML, jest/vitest, pytest, go test, TAP), else only pass/fail of the whole command.
 */
export type TestState = 'pass' | 'fail';

export interface TestRunResult {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  /** Test name → state; empty when the output could not be parsed. */
  tests: Record<string, TestState>;
  format: 'junit' | 'jest' | 'pytest' | 'go' | 'tap' | 'none';
  output: string;
  durationMs: number;
  /** The `.nightshift.yml` coverage report this run wrote; undefined when none is configured. */
  coverage?: CoverageReading;
}

export interface TestDelta {
  newlyFailing: string[];
  newlyPassing: string[];
  stillFailing: string[];
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export function parseJunitXml(xml: string): Record<string, TestState> {
  const tests: Record<string, TestState> = {};
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attrs = m[1] ?? '';
    const name = /\bname="([^"]*)"/.exec(attrs)?.[1];
    if (!name) continue;
    const cls = /\bclassname="([^"]*)"/.exec(attrs)?.[1];
    const body = m[3] ?? '';
    if (/<skipped\b/.test(body)) continue;
    tests[decodeXml(cls ? `${cls} › ${name}` : name)] = /<(failure|error)\b/.test(body) ? 'fail' : 'pass';
  }
  return tests;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from untrusted text is the point
const ansi = /\x1b\[[0-9;]*m/g;

export function parseTestOutput(raw: string): { format: TestRunResult['format']; tests: Record<string, TestState> } {
  const output = raw.replace(ansi, '');
  const lines = output.split('\n');
  const collect = (re: RegExp, state: (m: RegExpExecArray) => TestState | undefined, name: (m: RegExpExecArray) => string) => {
    const tests: Record<string, TestState> = {};
    for (const line of lines) {
      const m = re.exec(line);
      if (!m) continue;
      const s = state(m);
      if (s) tests[name(m).trim()] = s;
    }
    return tests;
  };
  const go = collect(
    /^\s*--- (PASS|FAIL): (\S+)/,
    (m) => (m[1] === 'PASS' ? 'pass' : 'fail'),
    (m) => m[2]!,
  );
  if (Object.keys(go).length) return { format: 'go', tests: go };
  const pytest = collect(
    /^(\S+::\S+)\s+(PASSED|FAILED|ERROR)\b|^(PASSED|FAILED|ERROR) (\S+::\S+)/,
    (m) => ((m[2] ?? m[3]) === 'PASSED' ? 'pass' : 'fail'),
    (m) => m[1] ?? m[4]!,
  );
  if (Object.keys(pytest).length) return { format: 'pytest', tests: pytest };
  const tap = collect(
    /^\s*(ok|not ok) \d+(?: -)? (.+?)(?:\s+#\s*(SKIP|TODO).*)?$/i,
    (m) => (m[3] ? undefined : m[1]!.toLowerCase() === 'ok' ? 'pass' : 'fail'),
    (m) => m[2]!,
  );
  if (Object.keys(tap).length) return { format: 'tap', tests: tap };
  const jest = collect(
    /^\s*(✓|✔|√|✕|×|✗)\s+(.+?)(?:\s+\(\d+(?:\.\d+)?\s*m?s\))?$/,
    (m) => (['✓', '✔', '√'].includes(m[1]!) ? 'pass' : 'fail'),
    (m) => m[2]!,
  );
  if (Object.keys(jest).length) return { format: 'jest', tests: jest };
  return { format: 'none', tests: {} };
}

const MAX_JUNIT_BYTES = 20 * 1024 * 1024;

/**
 * Reads the JUnit file the repo names (`.nightshift.yml` testResults) through the report reader's
 * guards (runner/repo/report-file.ts). Undefined when it does not exist, is too large or lists no
 * tests; PathRefusedError when the path is refused.
 */
export function readJunitReport(repoRoot: string, relativePath: string): Record<string, TestState> | undefined {
  const file = readReportFile(repoRoot, relativePath, MAX_JUNIT_BYTES);
  if (file.kind !== 'read') return undefined;
  const tests = parseJunitXml(file.text);
  return Object.keys(tests).length ? tests : undefined;
}

export function testDelta(base: TestRunResult | undefined, head: TestRunResult | undefined): TestDelta {
  const delta: TestDelta = { newlyFailing: [], newlyPassing: [], stillFailing: [] };
  if (!base || !head) return delta;
  const names = new Set([...Object.keys(base.tests), ...Object.keys(head.tests)]);
  if (names.size === 0) {
    // Only whole-command results: say it in the same terms.
    const whole = `${head.command} (whole command)`;
    if (base.passed && !head.passed) delta.newlyFailing.push(whole);
    if (!base.passed && head.passed) delta.newlyPassing.push(whole);
    if (!base.passed && !head.passed) delta.stillFailing.push(whole);
    return delta;
  }
  for (const name of [...names].sort()) {
    const before = base.tests[name];
    const after = head.tests[name];
    if (after === 'fail' && before === 'fail') delta.stillFailing.push(name);
    else if (after === 'fail') delta.newlyFailing.push(name);
    else if (after === 'pass' && before === 'fail') delta.newlyPassing.push(name);
  }
  return delta;
}

export function summarizeTests(result: TestRunResult): string {
  const names = Object.values(result.tests);
  const failed = names.filter((s) => s === 'fail').length;
  const counts = names.length ? `${names.length - failed} passed, ${failed} failed` : result.passed ? 'passed' : 'failed';
  return `${counts}${result.timedOut ? ' (timed out)' : ''}`;
}
