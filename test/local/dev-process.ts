import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { NightshiftHome } from '../../local/home';
import { templateCacheDir, testHome } from './platform-harness';

export const repoRoot = join(__dirname, '..', '..');
export const cliBin = join(repoRoot, 'bin', 'nightshift.js');

const Ready = z.object({ event: z.literal('ready'), url: z.string().url() });

export interface DevProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * `nightshift dev --json` as a user starts it, on a free port; resolves once it printed its ready line.
 * Without `session` the config's model provider serves the runs; `env` and `args` add to the user's.
 */
export async function startDevProcess(options: {
  home: NightshiftHome;
  configFile: string;
  session?: string;
  env?: Record<string, string>;
  args?: string[];
}): Promise<DevProcess> {
  const child = spawn(process.execPath, [cliBin, '--json', 'dev', ...(options.args ?? [])], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      NIGHTSHIFT_HOME: options.home.root,
      NIGHTSHIFT_CONFIG: options.configFile,
      ...(options.session ? { NIGHTSHIFT_MODEL: `replay:${options.session}` } : {}),
      NIGHTSHIFT_CACHE_DIR: templateCacheDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nightshift dev did not get ready:\n${stderr.slice(-3000)}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      for (const line of stdout.split('\n')) {
        const ready = Ready.safeParse(safeJson(line));
        if (ready.success) {
          clearTimeout(timer);
          resolve(ready.data.url);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nightshift dev exited with ${code}:\n${stderr.slice(-3000)}`));
    });
  });
  return { url, child, output: () => `${stdout}\n${stderr}` };
}

/** Ends a `nightshift dev` process (SIGTERM, as Ctrl-C would) and waits until it has exited. */
export async function stopDevProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM'));
}

/** `nightshift dev` processes a suite starts, each in a fresh test home; `stopAll` (afterAll) ends them and removes their homes. */
export function devPlatforms() {
  const started: { dev: DevProcess; home: NightshiftHome }[] = [];
  return {
    async start(session: string): Promise<DevProcess> {
      const { home, configFile } = testHome();
      const dev = await startDevProcess({ home, configFile, session });
      started.push({ dev, home });
      return dev;
    },
    async stopAll(): Promise<void> {
      for (const { dev, home } of started.splice(0)) {
        await stopDevProcess(dev.child);
        rmSync(home.root, { recursive: true, force: true });
      }
    },
  };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI like a user would (`npx nightshift ...`), against `api`. */
export function runCli(args: string[], api: string, timeoutMs = 120_000): CliResult {
  const result = spawnSync(process.execPath, [cliBin, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: api },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
