import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { apiGatewayEvent, apiResponse, matchRoute, type ApiHandler, type ApiRoute, type LocalIdentity } from './api-gateway';
import { localLambdaContext } from './lambda-context';
import { readBody } from './http-listen';
import type { LocalLog } from './local-log';
import { contentTypeRefusal, crossSiteRefusal, type Refusal } from './request-origin';

/** HTTP API's own payload cap is 10 MB; the handlers refuse anything over 64 KiB with 413 themselves. */
const maxBodyBytes = 10 * 1024 * 1024;

export interface ApiServerOptions {
  routes: readonly ApiRoute[];
  identity: LocalIdentity;
  /** False until the platform can take runs: /v1/health answers 503 until then. */
  isReady: () => boolean;
  /** The local forge's API root, in /v1/health (`nightshift pr` reads local pull requests there). */
  forgeUrl?: () => string;
  log: LocalLog;
  /**
   * Why the process at the other end of this connection may not call (local/loopback-peer.ts: another
   * OS user than the operator, such as the tool user), or undefined when it may. Absent: anyone on loopback.
   */
  callerRefusal?: (socket: Socket) => string | undefined;
  /** Local mode's own refusal of a route it cannot serve now (a submit while no model is configured), or undefined. */
  routeRefusal?: (method: string, path: string) => { statusCode: 422; code: string; message: string } | undefined;
  /** Everything outside `/v1` (the web console at `/`, local/console-server.ts); 404 without it. */
  outsideApi?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/**
 * The local stand-in for API Gateway: the same routes, the same handlers, the same event shapes.
 * Only `GET /v1/health` is local mode's own, and so are the checks every request passes first: it
 * comes from the operator's OS user, and it is not cross-site (local/request-origin.ts).
 */
export function createApiServer(options: ApiServerOptions): Server {
  const handlers = new Map<string, Promise<ApiHandler>>();
  const handlerFor = (route: ApiRoute): Promise<ApiHandler> => {
    let loaded = handlers.get(route.routeKey);
    if (!loaded) {
      loaded = route.load();
      handlers.set(route.routeKey, loaded);
      // A module that failed to load is retried on the next request rather than cached as broken.
      loaded.catch(() => handlers.delete(route.routeKey));
    }
    return loaded;
  };

  return createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      options.log.error('api request failed', { error: errorText(error) });
      if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Internal Server Error' }));
      else res.destroy();
    });
  });

  function refuse(
    res: ServerResponse,
    requestId: string,
    refusal: Pick<Refusal, 'statusCode' | 'message'> & { code: string },
    fields: Record<string, unknown>,
  ): void {
    options.log.warn('api request refused', { requestId, code: refusal.code, reason: refusal.message, ...fields });
    refusalAnswer(res, requestId, refusal);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    res.setHeader('apigw-requestid', requestId);
    const refusal = crossSiteRefusal({ method, path, headers: req.headers, localPort: req.socket.localPort ?? 0 });
    if (refusal)
      return refuse(res, requestId, refusal, { method, path: path.slice(0, 200), origin: String(req.headers.origin ?? '').slice(0, 200) });
    const callerRefused = options.callerRefusal?.(req.socket);
    if (callerRefused !== undefined)
      return refuse(res, requestId, { statusCode: 403, code: 'local_caller_refused', message: callerRefused }, {});
    const routeRefused = options.routeRefusal?.(method, path);
    if (routeRefused) return refuse(res, requestId, routeRefused, { method, path });
    if (options.outsideApi && path !== '/v1' && !path.startsWith('/v1/')) return options.outsideApi(req, res);
    if (method === 'GET' && path === '/v1/health') {
      const ready = options.isReady();
      send(
        res,
        ready ? 200 : 503,
        { 'content-type': 'application/json' },
        JSON.stringify({ status: ready ? 'ok' : 'starting', ...(options.forgeUrl ? { forge: options.forgeUrl() } : {}) }),
      );
      return;
    }
    const match = matchRoute(options.routes, method, path);
    if (!match) {
      send(res, 404, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const typeRefusal = contentTypeRefusal({ method, headers: req.headers });
    if (typeRefusal) return refuse(res, requestId, typeRefusal, { method, path: path.slice(0, 200) });
    if (!options.isReady()) {
      send(res, 503, { 'content-type': 'application/json', 'retry-after': '1' }, JSON.stringify({ message: 'Service Unavailable' }));
      return;
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too_large') {
      send(res, 413, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Request Entity Too Large' }));
      return;
    }
    const event = apiGatewayEvent(
      { method, url: req.url ?? '/', headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' },
      match,
      options.identity,
      requestId,
    );
    const handler = await handlerFor(match.route);
    let result: unknown;
    try {
      result = await handler(event, localLambdaContext(match.route.functionName));
    } catch (error) {
      // What API Gateway answers when the integration throws.
      options.log.error('handler threw', { route: match.route.routeKey, requestId, error: errorText(error) });
      send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Internal Server Error' }));
      return;
    }
    const response = apiResponse(result);
    for (const cookie of response.cookies) res.appendHeader('set-cookie', cookie);
    send(res, response.statusCode, response.headers, response.body);
  }
}

function refusalAnswer(res: ServerResponse, requestId: string, refusal: Pick<Refusal, 'statusCode' | 'message'> & { code: string }): void {
  send(
    res,
    refusal.statusCode,
    { 'content-type': 'application/json', 'x-request-id': requestId },
    JSON.stringify({ error: { code: refusal.code, message: refusal.message } }),
  );
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
