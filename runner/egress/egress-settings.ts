import type { NightshiftConfig } from '../../core/config/schema';
import { proxyPortForRepo, repoProxyUrl, type RunTrafficWindow } from '../../core/egress';
import { accessLogSourceFromEnv, taskPrivateIp, type AccessLogSource } from './access-log-reader';

/**
 * How this runner reaches the egress proxy and finds the requests it refused. On AWS the stack sets
 * NIGHTSHIFT_PROXY_URL (the proxy's default port) and NIGHTSHIFT_PROXY_LOG_GROUP; local mode with squid
 * sets NIGHTSHIFT_PROXY_URL=http://127.0.0.1:<base port> and NIGHTSHIFT_PROXY_ACCESS_LOG=<file>.
 * Without NIGHTSHIFT_PROXY_URL there is no proxy (local mode without squid) and the run says so.
 */
export interface EgressSettings {
  /** NIGHTSHIFT_PROXY_URL: the proxy's default port. A run uses its repo's port (`repoProxyUrl`). */
  readonly proxyBaseUrl: string;
  /** Where refused requests are logged; undefined when the environment names no log (they are not reported). */
  readonly accessLog: AccessLogSource | undefined;
  /** The address the proxy sees this task as. */
  clientIp(): string;
  /** How long to wait for an on-demand proxy that is still starting (default: core/egress/proxy-demand.ts); tests shorten it. */
  readonly startWait?: { readonly checkMs: number; readonly maxChecks: number };
}

export function egressSettingsFromEnv(env: NodeJS.ProcessEnv): EgressSettings | undefined {
  const proxyBaseUrl = env.NIGHTSHIFT_PROXY_URL;
  if (!proxyBaseUrl) return undefined;
  const hasLog = Boolean(env.NIGHTSHIFT_PROXY_ACCESS_LOG || env.NIGHTSHIFT_PROXY_LOG_GROUP);
  const accessLog = hasLog ? accessLogSourceFromEnv(env) : undefined;
  // A local squid sees every local runner as 127.0.0.1; on Fargate it sees the task's ENI address.
  const local = accessLog?.kind === 'file' || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):/.test(proxyBaseUrl);
  return { proxyBaseUrl, accessLog, clientIp: () => (local ? '127.0.0.1' : taskPrivateIp()) };
}

/** The proxy a run of `repo` uses and the squid port name the preflight must see on it. */
export function runProxy(
  settings: EgressSettings,
  config: Pick<NightshiftConfig, 'repos'>,
  repo: string,
): { url: string; portName: string; port: number } {
  const url = repoProxyUrl(settings.proxyBaseUrl, config, repo);
  const port = proxyPortForRepo(config, repo, Number(new URL(settings.proxyBaseUrl).port));
  return { url, portName: port.name, port: port.port };
}

/**
 * The window of this run's requests in the access log. Local runs share 127.0.0.1, so the repo's
 * port narrows it (two local runs of one repo at once share their list; docs/network.md).
 */
export function runTrafficWindow(settings: EgressSettings, proxy: { port: number }, since: Date, until: Date): RunTrafficWindow {
  const clientIp = settings.clientIp();
  return { clientIp, ...(clientIp === '127.0.0.1' ? { proxyPort: proxy.port } : {}), since, until };
}
