import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Marks every process of one command: descendants inherit it even after leaving the group with setsid. */
export const COMMAND_MARKER_VARIABLE = 'NIGHTSHIFT_COMMAND_ID';

function realUid(pid: string): number | undefined {
  const match = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

/**
 * Kills what a command left running outside its process group (`setsid`, double forks). Every
 * process of the tool uid that carries the command's marker is killed, in rounds, until none is left
 * (one may fork while we look). With a tool user dedicated to this run (`exclusive`, the image), every
 * process of that uid is killed, which also catches a descendant that cleared its environment.
 */
export function killCommandLeftovers(marker: string, identity: ToolIdentity): void {
  if (identity.kind === 'separate' && identity.exclusive) {
    // kill(-1) as the tool uid signals every process of that uid except the caller itself.
    spawnSync('/bin/sh', ['-c', 'kill -KILL -1 2>/dev/null; true'], { uid: identity.uid, gid: identity.gid, env: {}, stdio: 'ignore' });
  }
  const needle = `${COMMAND_MARKER_VARIABLE}=${marker}\0`;
  for (let round = 0; round < 10; round++) {
    let found = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      try {
        if (realUid(pid) !== identity.uid) continue;
        if (!`${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(needle)) continue;
        process.kill(Number(pid), 'SIGKILL');
        found++;
      } catch {
        // Gone meanwhile, or not ours to read.
      }
    }
    if (found === 0) return;
  }
}

/**
 * Runs one tool command: as the tool identity, in a new process group (so a timeout or abort kills
 * every child), with exactly the environment given, stdin closed. Nothing is inherited from the runner.
 */
export function runSandboxed(spec: CommandSpec, identity: ToolIdentity, env: Record<string, string>): Promise<CommandResult> {
  const started = Date.now();
  return new Promise<CommandResult>((resolve, reject) => {
    const marker = randomBytes(12).toString('hex');
    const child = spawn('/bin/bash', ['-c', spec.command], {
      cwd: spec.cwd,
      env: { ...env, [COMMAND_MARKER_VARIABLE]: marker },
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
      killCommandLeftovers(marker, identity);
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
      killCommandLeftovers(marker, identity);
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
