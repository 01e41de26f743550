import type { NightshiftConfig } from '../config/schema';

/**
 * How a run reaches the egress proxy. Squid cannot tell two runner tasks apart (same security group,
 * no per-run identity on a CONNECT), so the per-repo part of the egress allowlist is bound to a
 * listening port: every repo with extra `egressAllow` domains gets its own `http_port`, and squid's
 * `myportname` ACL allows those extras on that port only. Repos without extras share the default port.
 *
 * Ports are derived from the repo name (FNV-1a, then linear probing in name order), not from the
 * repo's position in the config, so adding or reordering repos does not move another repo onto a
 * port with a different allowlist while its runs are in flight during a deploy.
 */
export const DEFAULT_PROXY_PORT = 3128;
/** Repo ports live in [basePort + 1, basePort + REPO_PORT_SLOTS]. */
export const REPO_PORT_SLOTS = 1000;
export const DEFAULT_PORT_NAME = 'default';

export interface ProxyPort {
  /** squid `http_port ... name=` value; `default` or `repo-<hex>` (repo names may hold characters squid does not accept in a name). */
  readonly name: string;
  readonly port: number;
  /** The repo this port serves, or null for the shared default port. */
  readonly repo: string | null;
  /** Domains allowed on this port in addition to the default allowlist (empty for the default port). */
  readonly extraAllow: readonly string[];
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * Every port the proxy listens on, the default port first. `basePort` moves the whole block (local
 * mode and tests run several proxies on one machine); deployed proxies use the default.
 */
export function proxyPorts(config: Pick<NightshiftConfig, 'repos'>, basePort = DEFAULT_PROXY_PORT): ProxyPort[] {
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + REPO_PORT_SLOTS > 65_535)
    throw new Error(`proxy base port ${basePort} leaves no room for repo ports`);
  const withExtras = config.repos
    .filter((r) => (r.egressAllow ?? []).length > 0)
    .map((r) => ({ repo: r.name, key: r.name.toLowerCase(), extraAllow: [...new Set(r.egressAllow)] }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (withExtras.length > REPO_PORT_SLOTS) throw new Error(`at most ${REPO_PORT_SLOTS} repos may have egressAllow`);
  const taken = new Set<number>();
  const ports: ProxyPort[] = [{ name: DEFAULT_PORT_NAME, port: basePort, repo: null, extraAllow: [] }];
  for (const r of withExtras) {
    const hash = fnv1a(r.key);
    let slot = hash % REPO_PORT_SLOTS;
    while (taken.has(slot)) slot = (slot + 1) % REPO_PORT_SLOTS;
    taken.add(slot);
    ports.push({ name: `repo-${hash.toString(16).padStart(8, '0')}`, port: basePort + 1 + slot, repo: r.repo, extraAllow: r.extraAllow });
  }
  return ports;
}

/** The port a run of `repo` must use (the default port for repos without extra domains). */
export function proxyPortForRepo(config: Pick<NightshiftConfig, 'repos'>, repo: string, basePort = DEFAULT_PROXY_PORT): ProxyPort {
  const ports = proxyPorts(config, basePort);
  const own = ports.find((p) => p.repo !== null && p.repo.toLowerCase() === repo.toLowerCase());
  return own ?? ports[0]!;
}

/** `http://<host>:<port>` for `repo`; `host` is the proxy's Cloud Map name on AWS, 127.0.0.1 locally. */
export function proxyUrlForRepo(
  config: Pick<NightshiftConfig, 'repos'>,
  repo: string,
  host: string,
  basePort = DEFAULT_PROXY_PORT,
): string {
  const { port } = proxyPortForRepo(config, repo, basePort);
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}`;
}

/**
 * The URL a run of `repo` uses, from the proxy's base URL (NIGHTSHIFT_PROXY_URL: the default port,
 * `http://egress-proxy.nightshift.internal:3128` on AWS, `http://127.0.0.1:<base>` locally).
 */
export function repoProxyUrl(proxyBaseUrl: string, config: Pick<NightshiftConfig, 'repos'>, repo: string): string {
  const base = new URL(proxyBaseUrl);
  if (base.protocol !== 'http:' || !base.port)
    throw new Error(`NIGHTSHIFT_PROXY_URL must be http://host:port, got ${JSON.stringify(proxyBaseUrl)}`);
  const { port } = proxyPortForRepo(config, repo, Number(base.port));
  return `http://${base.hostname}:${port}`;
}

/** Lowest and highest listening port, for the security group rule between the runner and the proxy. */
export function proxyPortRange(config: Pick<NightshiftConfig, 'repos'>, basePort = DEFAULT_PROXY_PORT): { from: number; to: number } {
  const ports = proxyPorts(config, basePort).map((p) => p.port);
  return { from: Math.min(...ports), to: Math.max(...ports) };
}
