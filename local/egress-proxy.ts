import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { NightshiftConfig } from '../core/config/schema';
import { newRunnerProxyPassword, proxyPortRange, proxyPorts, runnerProxyPasswordHash, squidConfig } from '../core/egress';
import { checkProxy } from '../adapters/http/proxy-check';
import { readRegularFile } from '../runner/fs/regular-file';
import type { LocalLog } from './local-log';

/**
 * The proxy's files, laid out so that no directory a tool process can write holds anything the
 * platform (often root) writes, reads or follows:
 *   egress/        the platform's (mode 0750, group: squid's user): squid.conf, the runner-credential
 *                  helper and the credential's hash, written fresh at each start
 *   egress/run/    squid's own (mode 0700, owner: squid's user): access.log, cache.log, squid.pid, cores
 * Started as root, squid runs as `cache_effective_user`, set explicitly and never the tool user, so the
 * access log that feeds "Blocked hosts" is written by squid alone. The whole egress/ directory is
 * removed and created again at every start: whatever an earlier layout or a crashed platform left in
 * it (a symlink, a hard link, a FIFO, a directory swapped for a link) is never opened or followed.
 */
export interface EgressLayout {
  dir: string;
  conf: string;
  runDir: string;
  accessLog: string;
  cacheLog: string;
  pidFile: string;
  /** proxy/runner-auth.sh, copied where squid's user may run it, and the SHA-256 of this start's runner credential. */
  authHelper: string;
  credentialHash: string;
}

export function egressLayout(dir: string): EgressLayout {
  const runDir = join(dir, 'run');
  return {
    dir,
    conf: join(dir, 'squid.conf'),
    runDir,
    accessLog: join(runDir, 'access.log'),
    cacheLog: join(runDir, 'cache.log'),
    pidFile: join(runDir, 'squid.pid'),
    authHelper: join(dir, 'runner-auth.sh'),
    credentialHash: join(dir, 'runner-credential.sha256'),
  };
}

/** Who squid runs as: the platform's own user, or (as root) a system user that is neither root nor the tool user. */
export interface SquidIdentity {
  user?: string;
  uid: number;
  gid: number;
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export function squidIdentity(toolUid: number | undefined): SquidIdentity {
  const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (self.uid !== 0) return self;
  for (const user of ['proxy', 'squid', 'nobody']) {
    const found = lookupUser(user);
    if (found && found.uid !== 0 && found.uid !== toolUid) return { user, ...found };
  }
  throw new Error(
    'running as root, and no user (proxy, squid, nobody) other than root and the tool user exists to run the egress proxy as',
  );
}

/** A new file of the platform's (never an existing name, never through a link), readable by squid's group. */
function writePlatformFile(path: string, content: string | Buffer, mode: number, squid: SquidIdentity): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchownSync(fd, process.getuid?.() ?? 0, squid.gid);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the egress directories afresh and writes squid.conf, the runner-credential helper and the
 * credential's hash (core/egress/runner-credential.ts) into the platform's own one.
 */
export function prepareEgressDir(layout: EgressLayout, squid: SquidIdentity, conf: string, runnerCredentialHash: string): void {
  // rm does not follow symlinks: a planted link is removed, never its target.
  rmSync(layout.dir, { recursive: true, force: true });
  // Not recursive: the parent ($NIGHTSHIFT_HOME) is the platform's, and an entry that reappeared is refused.
  mkdirSync(layout.dir, { mode: 0o700 });
  chownSync(layout.dir, process.getuid?.() ?? 0, squid.gid);
  chmodSync(layout.dir, 0o750);
  writePlatformFile(layout.conf, conf, 0o640, squid);
  writePlatformFile(layout.authHelper, readFileSync(join(__dirname, '..', 'proxy', 'runner-auth.sh')), 0o750, squid);
  writePlatformFile(layout.credentialHash, `${runnerCredentialHash}\n`, 0o640, squid);
  mkdirSync(layout.runDir, { mode: 0o700 });
  chownSync(layout.runDir, squid.uid, squid.gid);
}

/** The local egress proxy: real squid with the generated configuration, on loopback. */
export interface LocalEgressProxy {
  /** The default port's URL, the runner's NIGHTSHIFT_PROXY_URL. */
  url: string;
  accessLog: string;
  /** The runners' credential for the AWS API hosts (new at every start); squid holds only its hash. */
  runnerPassword: string;
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
export interface EgressProxyOptions {
  config: NightshiftConfig;
  dir: string;
  log: LocalLog;
  /** The uid the agent's tools run as: squid never runs as it. */
  toolUid?: number;
  /** The default port (repo ports above it); undefined: a random free block, retried on a clash. */
  basePort?: number;
  /** The runners' credential to keep (a restart of the on-demand proxy); undefined: a new one. */
  runnerPassword?: string;
}

export async function startEgressProxy(options: EgressProxyOptions): Promise<LocalEgressProxy | undefined> {
  const squid = findSquid();
  if (!squid) return undefined;
  // A port the operator chose is used as it is (local/ports.ts checked it is free): no retry elsewhere.
  if (options.basePort !== undefined) return startOnce(squid, options, options.basePort);
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

/**
 * A squid a crashed platform left running on this home holds its pid file: stop it before starting
 * ours. Only a process whose command line is squid's `-f <this home's squid.conf>` is signalled.
 */
async function stopLeftoverSquid(layout: EgressLayout, log: LocalLog): Promise<void> {
  // The pid file of this layout, and of the earlier one (egress/squid.pid), read as untrusted text.
  for (const pidFile of [layout.pidFile, join(layout.dir, 'squid.pid')]) {
    const text = readRegularFile(pidFile, 64);
    if (text === undefined || !/^\s*\d{1,10}\s*$/.test(text)) continue;
    await stopSquidProcess(Number(text.trim()), layout.conf, log);
  }
}

async function stopSquidProcess(pid: number, conf: string, log: LocalLog): Promise<void> {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return;
  }
  const f = argv.indexOf('-f');
  if (pid <= 1 || pid === process.pid || f < 0 || argv[f + 1] !== conf) return;
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

async function startOnce(squid: string, options: EgressProxyOptions, basePort: number): Promise<LocalEgressProxy> {
  const layout = egressLayout(options.dir);
  const { accessLog, conf } = layout;
  await stopLeftoverSquid(layout, options.log);
  const identity = squidIdentity(options.toolUid);
  const generated = squidConfig(options.config, {
    region: options.config.region ?? 'us-east-1',
    basePort,
    listenAddress: '127.0.0.1',
    accessLog: `stdio:${accessLog}`,
    cacheLog: layout.cacheLog,
    pidFile: layout.pidFile,
    coredumpDir: layout.runDir,
    runnerAuth: { helper: layout.authHelper, hashFile: layout.credentialHash },
  });
  const runnerPassword = options.runnerPassword ?? newRunnerProxyPassword();
  // As root, squid drops to this user; it must never be the user the agent's tools run as.
  prepareEgressDir(
    layout,
    identity,
    identity.user ? `${generated}cache_effective_user ${identity.user}\n` : generated,
    runnerProxyPasswordHash(runnerPassword),
  );
  // Its own service name, so its shared memory segments do not collide with another local platform's.
  const child = spawn(squid, ['-N', '-f', conf, '-n', `nightshift${randomBytes(4).toString('hex')}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
      if (child.exitCode !== null)
        throw new Error(`squid exited with ${child.exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
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
  return { url: `http://127.0.0.1:${basePort}`, accessLog, runnerPassword, stop };
}
