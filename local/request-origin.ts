/**
 * Local mode's API listens on loopback without credentials, so a web page the operator visits could
 * otherwise drive it from the browser (a cross-site form post, a fetch to 127.0.0.1, a DNS name
 * rebound to 127.0.0.1). A request is refused unless it is addressed to this server by a loopback name
 * and port (Host), any Origin it carries is that same origin, the browser does not mark it as coming
 * from another site (Sec-Fetch-Site, on the API), and a request that changes anything says it carries
 * JSON (which a cross-site form cannot send without a CORS preflight this server never answers).
 * The web console served at `/` by the same server is same-origin and passes.
 */

export interface RequestFacts {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The port this server accepted the connection on. */
  localPort: number;
}

export interface Refusal {
  statusCode: 403 | 415 | 422;
  code: 'cross_site_refused' | 'unsupported_media_type';
  message: string;
}

const loopbackHosts = ['127.0.0.1', 'localhost'];

function single(value: string | string[] | undefined): string | undefined {
  // A repeated Host or Origin is itself suspicious: refuse it as missing.
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

/** The refusal of a request from another site or addressed by another name, or undefined when it may proceed. */
export function crossSiteRefusal(request: RequestFacts): Refusal | undefined {
  const host = single(request.headers.host)?.toLowerCase();
  const allowedHosts = loopbackHosts.map((name) => `${name}:${request.localPort}`);
  if (request.localPort === 80) allowedHosts.push(...loopbackHosts);
  if (host === undefined || !allowedHosts.includes(host)) {
    return {
      statusCode: 403,
      code: 'cross_site_refused',
      message: `local mode answers only requests addressed to ${allowedHosts[0]} or ${allowedHosts[1]} (Host header)`,
    };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && single(origin) !== `http://${host}`) {
    return { statusCode: 403, code: 'cross_site_refused', message: `local mode answers only its own origin http://${host}` };
  }
  const site = single(request.headers['sec-fetch-site']);
  if (request.path.startsWith('/v1/') && request.headers['sec-fetch-site'] !== undefined && site !== 'same-origin' && site !== 'none') {
    return {
      statusCode: 403,
      code: 'cross_site_refused',
      message: 'local mode answers API requests from its own origin only (Sec-Fetch-Site)',
    };
  }
  return undefined;
}

/** A request that changes anything must say it carries JSON; undefined when it may proceed. */
export function contentTypeRefusal(request: Pick<RequestFacts, 'method' | 'headers'>): Refusal | undefined {
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD') return undefined;
  const mediaType = (single(request.headers['content-type']) ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return undefined;
  return { statusCode: 415, code: 'unsupported_media_type', message: `${method} requests must send Content-Type: application/json` };
}
