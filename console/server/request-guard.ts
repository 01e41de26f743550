import type { IncomingMessage } from 'node:http';

/**
 * Who may talk to a console server on loopback. The server acts for the person at this machine (in
 * `nightshift console` it signs with their AWS credentials), so any other web page open in their browser
 * must not be able to use it: the Host must be the server's own loopback address (no DNS rebinding),
 * and a request that changes something must come from the console's own origin with a JSON body
 * (a cross-site form cannot send one without a CORS preflight, which this server never grants).
 */
export type GuardVerdict = { ok: true } | { ok: false; status: 403 | 415; code: string; message: string };

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

export function allowedHosts(port: number): Set<string> {
  return new Set(LOOPBACK_HOSTS.map((h) => `${h}:${port}`));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function guardRequest(req: IncomingMessage, port: number): GuardVerdict {
  const hosts = allowedHosts(port);
  const host = header(req, 'host')?.toLowerCase();
  if (!host || !hosts.has(host))
    return { ok: false, status: 403, code: 'bad_host', message: 'this console answers only on its own loopback address' };
  const origin = header(req, 'origin');
  if (origin !== undefined && !hosts.has(origin.replace(/^http:\/\//, '').toLowerCase())) {
    return { ok: false, status: 403, code: 'cross_origin', message: 'requests from other origins are refused' };
  }
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return { ok: false, status: 403, code: 'cross_site', message: 'requests from other sites are refused' };
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    if (origin === undefined && site === undefined)
      return { ok: false, status: 403, code: 'no_origin', message: 'a change must come from the console page (Origin header missing)' };
    const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      return { ok: false, status: 415, code: 'unsupported_media_type', message: 'send the body as application/json' };
  }
  return { ok: true };
}
