import { spawn } from 'node:child_process';
import type { ToolIdentity } from './tool-identity';

export interface CommandSpec {
  command: string;
  cwd: string;
  timeoutMs: number;
  /** Aborting kills the command's whole process group (SIGTERM of the runner). */
  signal?: AbortSignal;
}

export interface CommandResult {
  exitCode: number | null;
  /** Set when the command was killed by a signal (including our timeout). */
  killedBy: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** stdout and stderr interleaved as they arrived, capped (the middle is dropped). */
  output: string;
  durationMs: number;
}

const MAX_CAPTURE_BYTES = 2 * 1024 * 1024;
const GRACE_AFTER_TERM_MS = 2_000;

/** Keeps the first and last halves of a stream that grows past the cap. */
class CappedCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    const half = MAX_CAPTURE_BYTES / 2;
    if (this.headBytes < half) {
      const take = chunk.subarray(0, half - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > half && this.tail.length > 0) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - half;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.dropped > 0 ? `${head}\n[... ${this.dropped} bytes of output dropped ...]\n${tail}` : head + tail;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Runs one tool command: as the tool identity, in a new process group (so a timeout or abort kills
 * every child), with exactly the environment given, stdin closed. Nothing is inherited from the runner.
 */
export function runSandboxed(spec: CommandSpec, identity: ToolIdentity, env: Record<string, string>): Promise<CommandResult> {
  const started = Date.now();
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', spec.command], {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(identity.kind === 'separate' ? { uid: identity.uid, gid: identity.gid } : {}),
    });
    const capture = new CappedCapture();
    child.stdout!.on('data', (c: Buffer) => capture.push(c));
    child.stderr!.on('data', (c: Buffer) => capture.push(c));
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers: NodeJS.Timeout[] = [];

    const terminate = () => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      timers.push(setTimeout(() => killGroup(child.pid!, 'SIGKILL'), GRACE_AFTER_TERM_MS));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        terminate();
      }, spec.timeoutMs),
    );
    const onAbort = () => {
      aborted = true;
      terminate();
    };
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      for (const t of timers) clearTimeout(t);
      spec.signal?.removeEventListener('abort', onAbort);
      // Background children the command left behind die with it: the group is the command's lifetime.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      resolve({
        exitCode: exit?.code ?? null,
        killedBy: exit?.signal ?? (timedOut || aborted ? 'SIGKILL' : null),
        timedOut,
        aborted,
        output: capture.text(),
        durationMs: Date.now() - started,
      });
    };
    child.on('error', (err) => {
      for (const t of timers) clearTimeout(t);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A child still holding the pipes would keep 'close' from firing: end the group now, and stop
      // reading from one that escaped the group (setsid) after a short while.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      timers.push(
        setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
        }, 3_000),
      );
    });
    child.on('close', finish);
  });
}
