import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTestOutput, type TestState } from '../runner/repo/test-results';
import { GRADER_SUPPORT_DIR, type LoadedTask } from './task-suite';

/** What a trial handed in: the branch's diff against the base commit, and whether the run asked a human. */
export interface Submission {
  patch: string;
  asked: boolean;
}

export type GradedState = TestState | 'missing';

export interface Grade {
  taskId: string;
  resolved: boolean;
  /** The patch applied cleanly (an empty patch applies). */
  applied: boolean;
  failToPass: Record<string, GradedState>;
  passToPass: Record<string, GradedState>;
  /** Paths of `mustNotTouch` the patch changed. */
  touchedForbidden: string[];
  /** Why it is not resolved, in a line each (empty when resolved). */
  reasons: string[];
  /** The end of the grader command's output. */
  outputTail: string;
}

const OUTPUT_TAIL = 4_000;

function run(cwd: string, command: string, args: readonly string[], options: { input?: string; timeoutSeconds?: number; home: string }) {
  const result = spawnSync(command, [...args], {
    cwd,
    input: options.input,
    encoding: 'utf8',
    timeout: (options.timeoutSeconds ?? 60) * 1_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    // Nothing of the caller's environment beyond PATH: no keys reach the graded code.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.home,
      LANG: 'C.UTF-8',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      NO_COLOR: '1',
    },
  });
  return {
    status: result.status,
    timedOut: result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT',
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
  };
}

function git(cwd: string, home: string, args: readonly string[], input?: string) {
  return run(cwd, 'git', ['-c', 'user.name=eval', '-c', 'user.email=eval@nightshift.local', '-c', 'core.hooksPath=/dev/null', ...args], {
    home,
    ...(input !== undefined ? { input } : {}),
  });
}

function touches(path: string, guarded: string): boolean {
  const g = guarded.replace(/\/+$/, '');
  return path === g || path.startsWith(`${g}/`);
}

/**
 * Grades a submission the way SWE-bench does: the task's repository at base in a fresh workspace,
 * the patch applied (`git apply`; a patch that does not apply is not resolved), the hidden tests
 * copied over it, the grader command run; resolved = every fail-to-pass test passes and every
 * pass-to-pass test still passes (a test missing from the output counts as failing), no
 * `mustNotTouch` path changed, and for an `ask` task the run asked.
 *
 * The graded code is the agent's: run the eval where that is acceptable (docs/eval.md).
 */
export function grade(loaded: LoadedTask, submission: Submission): Grade {
  const { task } = loaded;
  const root = mkdtempSync(join(tmpdir(), `nightshift-grade-${task.id}-`));
  const ws = join(root, 'ws');
  const home = join(root, 'home');
  mkdirSync(home);
  const reasons: string[] = [];
  const missingAll = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, 'missing' as const]));
  try {
    cpSync(loaded.repoDir, ws, { recursive: true });
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'base'],
    ]) {
      const r = git(ws, home, args);
      if (r.status !== 0) throw new Error(`grader: git ${args[0]} failed: ${r.output}`);
    }
    let applied = true;
    if (submission.patch.trim() !== '') {
      if (/^new file mode 120000$|^new mode 120000$/m.test(submission.patch)) {
        applied = false;
        reasons.push('the patch creates a symbolic link (refused by the grader)');
      } else {
        const r = git(ws, home, ['apply', '--whitespace=nowarn', '--binary', '-'], submission.patch);
        if (r.status !== 0) {
          applied = false;
          reasons.push(`the patch does not apply: ${r.output.trim().slice(0, 500)}`);
        }
      }
    }
    if (!applied)
      return {
        taskId: task.id,
        resolved: false,
        applied,
        failToPass: missingAll(task.grader.failToPass),
        passToPass: missingAll(task.grader.passToPass),
        touchedForbidden: [],
        reasons,
        outputTail: '',
      };
    git(ws, home, ['add', '-A']);
    const changed = git(ws, home, ['diff', '--cached', '--name-only', '--no-renames', 'HEAD'])
      .output.split('\n')
      .filter((p) => p !== '');
    const touchedForbidden = changed.filter((p) => task.mustNotTouch.some((g) => touches(p, g)));
    if (touchedForbidden.length) reasons.push(`changed what it had to leave alone: ${touchedForbidden.join(', ')}`);

    cpSync(loaded.hiddenDir, ws, { recursive: true, force: true });
    cpSync(GRADER_SUPPORT_DIR, join(ws, '.eval-grader'), { recursive: true, force: true });
    const result = run(ws, 'bash', ['-c', task.grader.command], { home, timeoutSeconds: task.grader.timeoutSeconds });
    if (result.timedOut) reasons.push(`the grader command timed out after ${task.grader.timeoutSeconds} s`);
    const { tests } = parseTestOutput(result.output);
    const states = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, tests[n] ?? ('missing' as const)]));
    const failToPass = states(task.grader.failToPass);
    const passToPass = states(task.grader.passToPass);
    for (const [kind, map] of [
      ['fail-to-pass', failToPass],
      ['pass-to-pass', passToPass],
    ] as const) {
      const bad = Object.entries(map).filter(([, s]) => s !== 'pass');
      if (bad.length) reasons.push(`${kind} not passing: ${bad.map(([n, s]) => `${n} (${s})`).join(', ')}`);
    }
    if (task.expect === 'ask' && !submission.asked) reasons.push('the task is ambiguous and the run did not ask');
    return {
      taskId: task.id,
      resolved: reasons.length === 0,
      applied,
      failToPass,
      passToPass,
      touchedForbidden,
      reasons,
      outputTail: result.output.slice(-OUTPUT_TAIL),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
