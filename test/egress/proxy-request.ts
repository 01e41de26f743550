import { request } from 'node:http';

export interface ProxyAnswer {
  status: number;
  /** squid's `X-Squid-Error` header (e.g. `ERR_ACCESS_DENIED 0`), or '' when absent. */
  squidError: string;
}

function send(proxyUrl: string, method: 'GET' | 'CONNECT', target: string, host: string): Promise<ProxyAnswer> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    // Credentials in the proxy URL are sent as HTTPS clients send them (Proxy-Authorization: Basic).
    const credential = proxy.username
      ? {
          'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`,
        }
      : {};
    const req = request({
      host: proxy.hostname,
      port: Number(proxy.port),
      method,
      path: target,
      headers: { host, ...credential },
      agent: false,
      timeout: 45_000,
    });
    const answer = (res: { statusCode?: number; headers: Record<string, string | string[] | undefined> }, done: () => void) => {
      const header = res.headers['x-squid-error'];
      resolve({ status: res.statusCode ?? 0, squidError: Array.isArray(header) ? header.join(',') : (header ?? '') });
      done();
    };
    req.on('connect', (res, socket) => answer(res, () => socket.destroy()));
    req.on('response', (res) => answer(res, () => res.resume()));
    req.on('timeout', () => req.destroy(new Error(`no answer from ${proxyUrl} for ${method} ${target}`)));
    req.on('error', reject);
    req.end();
  });
}

/** `CONNECT host:port` through the proxy, as HTTPS clients do. */
export function connectVia(proxyUrl: string, authority: string): Promise<ProxyAnswer> {
  return send(proxyUrl, 'CONNECT', authority, authority);
}

/** A plain-HTTP `GET <absolute url>` through the proxy. */
export function getVia(proxyUrl: string, url: string): Promise<ProxyAnswer> {
  return send(proxyUrl, 'GET', url, new URL(url).host);
}
