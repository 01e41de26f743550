import { spawnSync } from 'node:child_process';
import type { LocalLog } from './local-log';

/**
 * Who the agent's tools run as when the platform runs as root (CI, containers): the image's
 * `nightshift-tool` user when it exists, else `nobody`; never root. A non-root runner uses its own user.
 */
export function localToolUser(log: LocalLog): string {
  if (process.getuid?.() !== 0) return 'nightshift-tool';
  const exists = (name: string) => spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0;
  if (exists('nightshift-tool')) return 'nightshift-tool';
  if (exists('nobody')) {
    log.warn('running as root without a nightshift-tool user: agent tools run as "nobody"');
    return 'nobody';
  }
  throw new Error('running as root, and neither a nightshift-tool nor a nobody user exists to run agent tools as');
}

/** The uid the tools run as: the tool user's as root, else the platform's own (runner/isolation/tool-identity.ts). */
export function toolUidOf(toolUser: string): number {
  const self = process.getuid?.() ?? 0;
  if (self !== 0) return self;
  const id = spawnSync('id', ['-u', toolUser], { encoding: 'utf8' });
  const uid = Number(id.stdout.trim());
  if (id.status !== 0 || !Number.isInteger(uid)) throw new Error(`cannot find the uid of the tool user ${toolUser}`);
  return uid;
}
