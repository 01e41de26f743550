import { userInfo } from 'node:os';
import type { NightshiftConfig } from '../core/config/schema';

/** Who local requests come from, shaped like an IAM principal: `local:<os user>`. */
export function localRequester(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `local:${name.replace(/[^A-Za-z0-9._@-]/g, '_') || 'unknown'}`;
}

/**
 * Local mode's caller is its operator, the OS user running it (`local:<user>`); other OS users are
 * refused at the door (local/loopback-peer.ts). The operator is an admin: it sees the runs of schedules
 * and webhooks too, which have other requesters.
 */
export function withLocalOperator(config: NightshiftConfig, requester: string): NightshiftConfig {
  if (config.auth.admins.includes(requester)) return config;
  return { ...config, auth: { ...config.auth, admins: [...config.auth.admins, requester] } };
}
