import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * What API Gateway HTTP API (payload format 2.0) does in front of the handlers, for local mode: route
 * matching with `{param}` path parameters, the event shape with an IAM authorizer context, and the
 * mapping of a handler's result back to an HTTP response.
 */

export type ApiHandler = (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => Promise<unknown>;

export interface ApiRoute {
  /** `POST /v1/runs/{runId}/cancel`, as in the HTTP API's route keys. */
  routeKey: string;
  /** The Lambda function's name in local logs and contexts. */
  functionName: string;
  load: () => Promise<ApiHandler>;
}

export interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

export function matchRoute(routes: readonly ApiRoute[], method: string, path: string): RouteMatch | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    const [routeMethod, routePath] = route.routeKey.split(' ');
    if (routeMethod !== method.toUpperCase() || routePath === undefined) continue;
    const pattern = routePath.split('/');
    if (pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < pattern.length; i++) {
      const part = pattern[i]!;
      const segment = segments[i]!;
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(part);
      if (param) {
        if (segment === '') {
          matched = false;
          break;
        }
        // API Gateway hands path parameters to the integration URL-decoded.
        pathParameters[param[1]!] = safeDecode(segment);
      } else if (part !== segment) {
        matched = false;
        break;
      }
    }
    if (matched) return { route, pathParameters };
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface IncomingApiRequest {
  method: string;
  /** Path and query as received, e.g. `/v1/runs?limit=5`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp: string;
}

/** The requester identity local mode presents, shaped like an IAM authorizer's (`local:<os user>`). */
export interface LocalIdentity {
  userArn: string;
}

export function apiGatewayEvent(
  request: IncomingApiRequest,
  match: RouteMatch,
  identity: LocalIdentity,
  requestId = randomUUID(),
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const url = new URL(request.url, 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((c) => c.split(';').map((s) => s.trim())).filter(Boolean);
      continue;
    }
    // HTTP API joins repeated headers with a comma.
    headers[key] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const now = new Date();
  const contentType = headers['content-type'] ?? '';
  // HTTP API base64-encodes bodies it does not recognise as text.
  const textual =
    request.body.length === 0 ||
    /^(text\/|application\/(json|x-www-form-urlencoded|xml)|.*\+json)/i.test(contentType) ||
    contentType === '';
  return {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.startsWith('?') ? url.search.slice(1) : url.search,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: {
        iam: {
          accessKey: 'LOCAL',
          accountId: '000000000000',
          callerId: identity.userArn,
          cognitoIdentity: null,
          principalOrgId: 'local',
          userArn: identity.userArn,
          userId: identity.userArn,
        },
      },
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: request.method.toUpperCase(),
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: match.route.routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(request.body.length > 0 ? { body: textual ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: !textual,
  };
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/**
 * Maps a handler's return value as HTTP API does: a structured result is used as is; anything else
 * (an object, a string) is a 200 JSON body.
 */
export function apiResponse(result: unknown): ApiResponse {
  if (isStructured(result)) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
    const raw = result.body ?? '';
    const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (!headers['content-type'] && body.length > 0) headers['content-type'] = 'application/json';
    return { statusCode: result.statusCode ?? 200, headers, cookies: result.cookies ?? [], body };
  }
  const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(text, 'utf8') };
}

function isStructured(result: unknown): result is APIGatewayProxyStructuredResultV2 {
  return (
    typeof result === 'object' &&
    result !== null &&
    'statusCode' in result &&
    typeof (result as { statusCode: unknown }).statusCode === 'number'
  );
}
