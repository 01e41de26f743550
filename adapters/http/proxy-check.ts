import { request } from 'node:http';
import { PROXY_CHECK_HOST } from '../../core/egress/squid-config';

/** The proxy cannot serve this run; the runner fails the run with code `egress_proxy_unavailable` and this message. */
export class ProxyUnavailableError extends Error {
  constructor(
    readonly proxyUrl: string,
    reason: string,
    /** No answer at all (refused, not resolvable, timed out): a proxy still starting looks like this; a wrong answer does not. */
    readonly unreachable = false,
  ) {
    super(`egress proxy ${proxyUrl} is not usable: ${reason}`);
    this.name = 'ProxyUnavailableError';
  }
}

export interface ProxyCheckOptions {
  /** The squid port name this run must land on (`proxyPortForRepo(...).name`); checked when given. */
  readonly expectedPortName?: string;
  readonly timeoutMs?: number;
}

/**
 * Preflight before a run starts work: asks the proxy for the never-resolvable check host, which the
 * generated squid.conf answers itself with a 307 naming the port it arrived on. That proves the
 * proxy is up, runs our configuration, and that this URL is the repo's port, without any upstream
 * traffic. Throws ProxyUnavailableError with the reason; resolves with the port name.
 */
export function checkProxy(proxyUrl: string, options: ProxyCheckOptions = {}): Promise<{ portName: string }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return Promise.reject(new ProxyUnavailableError(proxyUrl, 'not a URL'));
  }
  if (url.protocol !== 'http:' || !url.port) return Promise.reject(new ProxyUnavailableError(proxyUrl, 'must be http://host:port'));
  return new Promise((resolve, reject) => {
    const fail = (reason: string, unreachable = false) => reject(new ProxyUnavailableError(proxyUrl, reason, unreachable));
    const req = request({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port),
      method: 'GET',
      path: `http://${PROXY_CHECK_HOST}/`,
      headers: { host: PROXY_CHECK_HOST },
      timeout: timeoutMs,
      agent: false,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => fail((err as NodeJS.ErrnoException).code ?? err.message, true));
    req.on('response', (res) => {
      res.resume();
      const location = res.headers.location ?? '';
      const match = new RegExp(`^http://${PROXY_CHECK_HOST.replace(/\./g, '\\.')}/port/([A-Za-z0-9-]{1,40})$`).exec(location);
      if (res.statusCode !== 307 || !match) {
        fail(`unexpected answer ${res.statusCode ?? '?'} to the health check (not the Nightshift squid configuration?)`);
        return;
      }
      const portName = match[1]!;
      if (options.expectedPortName !== undefined && portName !== options.expectedPortName) {
        fail(
          `port serves allowlist "${portName}", this run needs "${options.expectedPortName}" (proxy and runner configs differ; a deploy in progress?)`,
        );
        return;
      }
      resolve({ portName });
    });
    req.end();
  });
}
