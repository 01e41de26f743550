import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NightshiftConfig } from '../core/config/schema';
import { checkProxy, proxyPortRange, proxyPorts, squidConfig } from '../core/egress';
import type { LocalLog } from './local-log';

/** The local egress proxy: real squid with the generated configuration, on loopback. */
export interface LocalEgressProxy {
  /** The default port's URL, the runner's NIGHTSHIFT_PROXY_URL. */
  url: string;
  accessLog: string;
  stop(): Promise<void>;
}

export function findSquid(): string | undefined {
  for (const candidate of ['/usr/sbin/squid', '/usr/local/sbin/squid']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v squid'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path : undefined;
}

/**
 * Starts squid in the foreground with the same configuration generator the deployed proxy uses, in
 * `dir`, on a random loopback port block (retried on a clash). Undefined when squid is not installed.
 */
export async function startEgressProxy(options: { config: NightshiftConfig; dir: string; log: LocalLog }): Promise<LocalEgressProxy | undefined> {
  const squid = findSquid();
  if (!squid) return undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const range = proxyPortRange(options.config);
    const span = range.to - range.from;
    const basePort = 20_000 + Math.floor(Math.random() * (40_000 - span));
    try {
      return await startOnce(squid, options, basePort);
    } catch (error) {
      lastError = error;
      options.log.warn('egress proxy did not start; retrying on other ports', { attempt, error: (error as Error).message });
    }
  }
  throw lastError;
}

/** A squid a crashed platform left running on this home holds its pid file: stop it before starting ours. */
async function stopLeftoverSquid(dir: string, log: LocalLog): Promise<void> {
  const pidFile = join(dir, 'squid.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !cmdline.includes(join(dir, 'squid.conf'))) return;
  log.warn('stopping the egress proxy a previous platform process left running', { pid });
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the egress proxy left by a previous platform (pid ${pid}) did not stop`);
}

async function startOnce(squid: string, options: { config: NightshiftConfig; dir: string; log: LocalLog }, basePort: number): Promise<LocalEgressProxy> {
  mkdirSync(options.dir, { recursive: true });
  await stopLeftoverSquid(options.dir, options.log);
  // squid drops to its effective user ("proxy") when started as root; it must be able to write its logs here.
  chmodSync(options.dir, 0o777);
  const accessLog = join(options.dir, 'access.log');
  const cacheLog = join(options.dir, 'cache.log');
  const conf = join(options.dir, 'squid.conf');
  writeFileSync(
    conf,
    squidConfig(options.config, {
      region: options.config.region ?? 'us-east-1',
      basePort,
      listenAddress: '127.0.0.1',
      accessLog: `stdio:${accessLog}`,
      cacheLog,
      pidFile: join(options.dir, 'squid.pid'),
      coredumpDir: options.dir,
    }),
  );
  // Its own service name, so its shared memory segments do not collide with another local platform's.
  const child = spawn(squid, ['-N', '-f', conf, '-n', `nightshift${randomBytes(4).toString('hex')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    // SIGTERM only: SIGKILL leaves squid's shared memory segments behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const ports = proxyPorts(options.config, basePort);
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`squid exited with ${child.exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      try {
        await checkProxy(`http://127.0.0.1:${port.port}`, { timeoutMs: 1_000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`squid did not answer on port ${port.port}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  options.log.info('egress proxy started', { url: `http://127.0.0.1:${basePort}`, ports: ports.length });
  return { url: `http://127.0.0.1:${basePort}`, accessLog, stop };
}
