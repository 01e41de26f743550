import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { LocalLog } from './local-log';

/**
 * Local mode's stand-in for ECS: one runner process per run, in its own process group (so a stop takes
 * every tool command the agent started with it), stopped the way ECS stops a task: SIGTERM, then
 * SIGKILL after the stop timeout.
 */

export interface RunnerProcessOptions {
  /** argv of the runner program (node and its flags first). */
  command: readonly string[];
  /** Directory the program is resolved from (the repository root). */
  cwd: string;
  /** Parent of the per-run workspaces: work/<runId>. */
  workDir: string;
  /** Where each runner's stdout/stderr goes: <runId>.runner.log, and its pid file. */
  logsDir: string;
  /** Environment every runner gets (endpoints, table names, dummy credentials...). */
  baseEnv: Record<string, string>;
  /** ECS's stopTimeout: time between SIGTERM and SIGKILL. */
  stopTimeoutMs: number;
  log: LocalLog;
}

export interface RunnerExit {
  runId: string;
  taskArn: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the platform asked for the stop (stopTask or shutdown). */
  stopRequested: boolean;
  /** The last lines the runner wrote to stderr (not redacted: the platform redacts before showing them). */
  lastErrorLines: string[];
}

/** How much of a runner's stderr is kept for its run's error, and how many of its last lines. */
const STDERR_TAIL_BYTES = 8_192;
const STDERR_TAIL_LINES = 8;
const STDERR_LINE_CHARS = 400;
/** How long an exit waits for the rest of the runner's stderr. */
const STDERR_DRAIN_MS = 2_000;

/** The last non-empty lines of a stderr tail, each cut to a readable length. */
export function lastLinesOf(tail: string): string[] {
  return tail
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-STDERR_TAIL_LINES)
    .map((line) => (line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS - 1)}…` : line));
}

interface LiveRunner {
  runId: string;
  taskArn: string;
  child: ChildProcess;
  stopRequested: boolean;
  exited: Promise<RunnerExit>;
}

/** What is kept on disk so a restarted platform can stop runners a crashed one left behind. */
const PidFile = z.object({ runId: z.string(), pid: z.number().int().positive() }).strict();

/** Variables a runner inherits from the platform's own environment; everything else is set explicitly. */
const inheritedEnv = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'];

export class RunnerProcesses extends EventEmitter<{ started: [{ runId: string; taskArn: string; pid: number }]; exited: [RunnerExit] }> {
  private readonly live = new Map<string, LiveRunner>();
  private sequence = 0;

  constructor(private options: RunnerProcessOptions) {
    super();
  }

  /** The environment every runner gets; set once the platform knows its endpoints. */
  setBaseEnv(env: Record<string, string>): void {
    this.options = { ...this.options, baseEnv: { ...env } };
  }

  /** Run ids whose runner process is alive. */
  runningRunIds(): string[] {
    return [...this.live.values()].map((r) => r.runId);
  }

  /** Task ARNs of live runners, all or those of one run (ECS ListTasks by StartedBy). */
  taskArns(runId?: string): string[] {
    return [...this.live.values()].filter((r) => runId === undefined || r.runId === runId).map((r) => r.taskArn);
  }

  workspaceOf(runId: string): string {
    return join(this.options.workDir, runId);
  }

  /** Starts the runner of `runId`; `env` adds the task's container overrides (RUN_ID, TASK_TOKEN). */
  start(runId: string, env: Record<string, string>): { taskArn: string; pid: number } {
    if (!/^[0-9A-Z]{26}$/.test(runId)) throw new Error(`refusing to start a runner for a malformed run id ${JSON.stringify(runId)}`);
    const existing = [...this.live.values()].find((r) => r.runId === runId);
    if (existing) throw new Error(`run ${runId} already has a runner process (${existing.taskArn})`);
    const workspace = this.workspaceOf(runId);
    mkdirSync(workspace, { recursive: true, mode: 0o700 });
    mkdirSync(this.options.logsDir, { recursive: true });
    const logFd = openSync(join(this.options.logsDir, `${runId}.runner.log`), 'a', 0o600);
    const inherited: Record<string, string> = {};
    for (const name of inheritedEnv) {
      const value = process.env[name];
      if (value !== undefined) inherited[name] = value;
    }
    const [program, ...args] = this.options.command;
    if (!program) throw new Error('runner command is empty');
    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        cwd: this.options.cwd,
        // The runner is told the grace it has, as ECS's task definition tells it (core/runs/stop-grace.ts).
        env: {
          ...inherited,
          ...this.options.baseEnv,
          ...env,
          NIGHTSHIFT_WORKSPACE: workspace,
          NIGHTSHIFT_STOP_TIMEOUT_SECONDS: String(Math.max(1, Math.ceil(this.options.stopTimeoutMs / 1000))),
        },
        // Its own process group, so a stop reaches the agent's tool commands too. Stderr comes through
        // the platform (into the same log), so that a runner that dies can say why in its run's error.
        detached: true,
        stdio: ['ignore', logFd, 'pipe'],
      });
    } catch (error) {
      closeSync(logFd);
      throw error;
    }
    const pid = child.pid;
    if (pid === undefined) {
      closeSync(logFd);
      throw new Error(`runner process for ${runId} did not start`);
    }
    let stderrTail = '';
    const stderrEnded = new Promise<void>((resolve) => {
      const stderr = child.stderr!;
      stderr.on('data', (chunk: Buffer) => {
        writeSync(logFd, chunk);
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      });
      stderr.once('close', () => resolve());
      stderr.once('error', () => resolve());
    }).finally(() => closeSync(logFd));
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/nightshift-local/${runId}-${++this.sequence}`;
    const pidFile = join(this.options.logsDir, `${runId}.runner.pid`);
    writeFileSync(pidFile, JSON.stringify({ runId, pid }), { mode: 0o600 });
    const runner: LiveRunner = {
      runId,
      taskArn,
      child,
      stopRequested: false,
      exited: new Promise<RunnerExit>((resolve) => {
        child.once('exit', async (code, signal) => {
          this.live.delete(taskArn);
          rmSync(pidFile, { force: true });
          // The process group may outlive its leader (a tool command still running): end it too.
          killGroup(pid, 'SIGKILL');
          // What the runner wrote last reaches the pipe before its end. A process outside the group that
          // still holds the pipe must not hold the exit back: wait for the end a bounded time.
          let bound: NodeJS.Timeout | undefined;
          await Promise.race([stderrEnded, new Promise<void>((resolve) => (bound = setTimeout(resolve, STDERR_DRAIN_MS)))]);
          clearTimeout(bound);
          const exit: RunnerExit = {
            runId,
            taskArn,
            code,
            signal,
            stopRequested: runner.stopRequested,
            lastErrorLines: lastLinesOf(stderrTail),
          };
          this.options.log.info('runner process exited', { runId, taskArn, code, signal, stopRequested: runner.stopRequested });
          this.emit('exited', exit);
          resolve(exit);
        });
      }),
    };
    child.once('error', (error) => this.options.log.error('runner process error', { runId, error: error.message }));
    this.live.set(taskArn, runner);
    this.options.log.info('runner process started', { runId, taskArn, pid });
    this.emit('started', { runId, taskArn, pid });
    return { taskArn, pid };
  }

  /** Stops a task like ECS StopTask: SIGTERM to the group, SIGKILL after the stop timeout. Unknown tasks are ignored. */
  async stopTask(taskArn: string): Promise<void> {
    const runner = this.live.get(taskArn);
    if (!runner) return;
    await this.stopRunner(runner);
  }

  /** Stops every runner process of a run (finalize's stopRunTasks). */
  async stopRun(runId: string): Promise<void> {
    await Promise.all([...this.live.values()].filter((r) => r.runId === runId).map((r) => this.stopRunner(r)));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((r) => this.stopRunner(r)));
  }

  private async stopRunner(runner: LiveRunner): Promise<void> {
    const pid = runner.child.pid;
    if (pid === undefined) return;
    if (!runner.stopRequested) {
      runner.stopRequested = true;
      this.options.log.info('stopping runner process', { runId: runner.runId, taskArn: runner.taskArn });
      killGroup(pid, 'SIGTERM');
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        resolve();
      }, this.options.stopTimeoutMs);
    });
    await Promise.race([runner.exited, killed]);
    clearTimeout(timer);
    await runner.exited;
  }

  /**
   * Stops runner processes a previous platform process left behind (it crashed or was killed), found by
   * their pid files. A pid is only signalled when /proc shows it still is that run's runner.
   */
  reapOrphans(readPidFiles: () => string[]): string[] {
    const reaped: string[] = [];
    for (const file of readPidFiles()) {
      let parsed: z.infer<typeof PidFile>;
      try {
        parsed = PidFile.parse(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        rmSync(file, { force: true });
        continue;
      }
      if (isRunnerOf(parsed.pid, parsed.runId)) {
        killGroup(parsed.pid, 'SIGKILL');
        reaped.push(parsed.runId);
        this.options.log.warn('stopped a runner left by a previous platform process', { runId: parsed.runId, pid: parsed.pid });
      }
      rmSync(file, { force: true });
    }
    return reaped;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function isRunnerOf(pid: number, runId: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`RUN_ID=${runId}`);
  } catch {
    return false;
  }
}
