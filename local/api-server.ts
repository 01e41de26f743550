import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiGatewayEvent, apiResponse, matchRoute, type ApiHandler, type ApiRoute, type LocalIdentity } from './api-gateway';
import { localLambdaContext } from './lambda-context';
import { readBody } from './http-listen';
import type { LocalLog } from './local-log';

/** HTTP API's own payload cap is 10 MB; the handlers refuse anything over 64 KiB with 413 themselves. */
const maxBodyBytes = 10 * 1024 * 1024;

export interface ApiServerOptions {
  routes: readonly ApiRoute[];
  identity: LocalIdentity;
  /** False until the platform can take runs: /v1/health answers 503 until then. */
  isReady: () => boolean;
  log: LocalLog;
}

/**
 * The local stand-in for API Gateway: the same routes, the same handlers, the same event shapes.
 * Only `GET /v1/health` is local mode's own.
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

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    res.setHeader('apigw-requestid', requestId);
    if (method === 'GET' && path === '/v1/health') {
      const ready = options.isReady();
      send(res, ready ? 200 : 503, { 'content-type': 'application/json' }, JSON.stringify({ status: ready ? 'ok' : 'starting' }));
      return;
    }
    const match = matchRoute(options.routes, method, path);
    if (!match) {
      send(res, 404, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Not Found' }));
      return;
    }
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

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
