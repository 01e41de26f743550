import { chmodSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The layout of `$NIGHTSHIFT_HOME` (SPEC §8). Everything local mode writes lives under it, so several
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
