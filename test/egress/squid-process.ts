import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NightshiftConfig } from '../../core/config/schema';
import { copyFileSync } from 'node:fs';
import { newRunnerProxyPassword, proxyPorts, runnerProxyPasswordHash, squidConfig, type ProxyPort } from '../../core/egress';
import { checkProxy } from '../../adapters/http/proxy-check';

/** The squid binary, or undefined. Under CI a missing squid is a failure, never a skip (.ci/run installs it). */
export function findSquid(): string | undefined {
  for (const candidate of ['/usr/sbin/squid', '/usr/local/sbin/squid']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v squid'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path : undefined;
}

export function squidOrSkip(): { squid: string | undefined; describeWithSquid: jest.Describe } {
  const squid = findSquid();
  if (squid) return { squid, describeWithSquid: describe };
  if (process.env.CI) throw new Error("squid is not installed but CI is set: .ci/run must install Debian's squid package");
  console.warn('\n\n*** SKIPPING the real-squid egress tests: squid is not installed (apt-get install squid). CI runs them. ***\n\n');
  return { squid, describeWithSquid: describe.skip };
}

export interface RunningSquid {
  readonly dir: string;
  readonly accessLog: string;
  readonly ports: ProxyPort[];
  url(port: ProxyPort): string;
  /** The runner's proxy password this squid accepts (its hash file holds the SHA-256). */
  readonly runnerPassword: string;
  stop(): Promise<void>;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  deadlineMs: number,
  child: ChildProcess,
  logFile: string,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `squid exited (${child.exitCode}) before ${what}:\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`,
      );
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`squid: ${what} did not happen in time: ${String(lastError)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts real squid in the foreground (-N) on loopback with the generated configuration, its own
 * service name (-n, so its shared memory segments are its own) and its own pid/log/coredump dirs.
 * The port block is random; a clash with another process's port shows as a failed start and is retried.
 */
export async function startSquid(
  squid: string,
  config: Pick<NightshiftConfig, 'repos' | 'egress'>,
  region = 'us-east-1',
): Promise<RunningSquid> {
  for (let attempt = 1; ; attempt++) {
    const basePort = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      return await startOnce(squid, config, region, basePort);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startOnce(
  squid: string,
  config: Pick<NightshiftConfig, 'repos' | 'egress'>,
  region: string,
  basePort: number,
): Promise<RunningSquid> {
  const dir = mkdtempSync(join(tmpdir(), 'ns-squid-'));
  // Run as root, squid drops to its effective user ("proxy"), which must be able to write here.
  chmodSync(dir, 0o777);
  const accessLog = join(dir, 'access.log');
  const cacheLog = join(dir, 'cache.log');
  const conf = join(dir, 'squid.conf');
  // The helper as the proxy image has it, where squid's user can run it; the hash file as proxy/entrypoint.sh writes it.
  const helper = join(dir, 'runner-auth.sh');
  copyFileSync(join(__dirname, '../../proxy/runner-auth.sh'), helper);
  chmodSync(helper, 0o755);
  const runnerPassword = newRunnerProxyPassword();
  const hashFile = join(dir, 'runner-credential.sha256');
  writeFileSync(hashFile, `${runnerProxyPasswordHash(runnerPassword)}\n`, { mode: 0o644 });
  writeFileSync(
    conf,
    squidConfig(config, {
      region,
      basePort,
      listenAddress: '127.0.0.1',
      accessLog: `stdio:${accessLog}`,
      cacheLog,
      pidFile: join(dir, 'squid.pid'),
      coredumpDir: dir,
      runnerAuth: { helper, hashFile },
    }),
  );
  const name = `nstest${randomBytes(4).toString('hex')}`;
  const child = spawn(squid, ['-N', '-f', conf, '-n', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ports = proxyPorts(config, basePort);
  const url = (p: ProxyPort) => `http://127.0.0.1:${p.port}`;
  const stop = async () => {
    // SIGTERM only: SIGKILL leaves squid's shared memory segments behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports)
      await waitFor(`listening on ${port.port}`, () => checkProxy(url(port), { timeoutMs: 1_000 }), 20_000, child, cacheLog);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr.slice(-2000)}`);
  }
  return { dir, accessLog, ports, url, runnerPassword, stop };
}
