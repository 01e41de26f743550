import { chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, realpathSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The layout of `$NIGHTSHIFT_HOME` (docs/local-mode.md#what-runs-where). Everything local mode writes lives under it, so several
 * local platforms can run side by side with different homes.
 */
export interface NightshiftHome {
  root: string;
  /** dynalite's LevelDB files: runs survive a restart. */
  data: string;
  /** One workspace per run: work/<runId>. */
  work: string;
  /** The local forge's bare repositories and PR records. */
  forge: string;
  /** Cached synthesized state machine definitions. */
  cache: string;
  /** Runner process output and the egress proxy's files. */
  logs: string;
  /** `secrets.json`: secret name → value. */
  secretsFile: string;
}

export function resolveHome(root = process.env.NIGHTSHIFT_HOME ?? '.nightshift'): NightshiftHome {
  const abs = resolve(root);
  return {
    root: abs,
    data: join(abs, 'data'),
    work: join(abs, 'work'),
    forge: join(abs, 'forge'),
    cache: join(abs, 'cache'),
    logs: join(abs, 'logs'),
    secretsFile: join(abs, 'secrets.json'),
  };
}

export function ensureHome(home: NightshiftHome): void {
  for (const dir of [home.data, home.forge, home.cache, home.logs]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The agent's tools may run as another, unprivileged user (when the platform runs as root): it must be
  // able to pass through to its run's workspace, never to list or read anything else here.
  for (const dir of [home.root, home.work]) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
  }
}

export class UnsafeHomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeHomeError';
  }
}

/**
 * When the platform runs as root its tools run as another user, who must not be able to swap
 * $NIGHTSHIFT_HOME, or a directory above it, for one of its own. Every directory from the home up to
 * `/` must be owned by root or the platform's user and writable by no one else, unless it is sticky
 * (like /tmp, where others cannot rename or remove what is not theirs).
 */
export function assertHomeIsPrivate(home: NightshiftHome): void {
  const self = process.getuid?.() ?? 0;
  const root = realpathSync(home.root);
  const own = lstatSync(root);
  if (!own.isDirectory() || own.uid !== self)
    throw new UnsafeHomeError(`${root} (NIGHTSHIFT_HOME) must be a directory owned by uid ${self}`);
  for (let dir = root; ; dir = dirname(dir)) {
    const stat = lstatSync(dir);
    if (stat.uid !== 0 && stat.uid !== self)
      throw new UnsafeHomeError(`${dir} is owned by uid ${stat.uid}: another user could replace NIGHTSHIFT_HOME (${root})`);
    const sticky = (stat.mode & 0o1000) !== 0;
    if ((stat.mode & 0o022) !== 0 && !(sticky && dir !== root))
      throw new UnsafeHomeError(
        `${dir} is writable by other users (mode ${(stat.mode & 0o7777).toString(8)}): they could replace NIGHTSHIFT_HOME (${root})`,
      );
    if (dir === dirname(dir)) return;
  }
}

/**
 * `secrets.json` holds the values the repos' setup commands get. Whatever mode a person created it
 * with, the tool user must never read it: at every start it is created 0600 when absent; otherwise it
 * must be a regular file (not a symlink, FIFO, device or directory) with no other name (hard link),
 * owned by the platform's user, and it is made 0600 through the open descriptor.
 */
export function secureSecretsFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, '{}\n');
    } finally {
      closeSync(fd);
    }
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    // O_NONBLOCK: a FIFO planted here must not hang the platform's start.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafeHomeError(`${path} is a symbolic link; it must be a regular file`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const self = process.getuid?.() ?? stat.uid;
    if (!stat.isFile()) throw new UnsafeHomeError(`${path} must be a regular file`);
    if (stat.nlink !== 1) throw new UnsafeHomeError(`${path} has ${stat.nlink} names (hard links); it must have one`);
    if (stat.uid !== self)
      throw new UnsafeHomeError(`${path} is owned by uid ${stat.uid}; it must be owned by uid ${self}, which runs the platform`);
    if ((stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}
