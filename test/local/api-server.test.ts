import type { Server } from 'node:http';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { matchRoute, type ApiRoute } from '../../local/api-gateway';
import { createApiServer } from '../../local/api-server';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { jsonLog } from '../../local/local-log';

describe('the local API Gateway', () => {
  let server: Server;
  let base: string;
  let ready = false;
  const seen: APIGatewayProxyEventV2WithIAMAuthorizer[] = [];
  const routes: ApiRoute[] = [
    {
      routeKey: 'GET /v1/runs/{runId}',
      functionName: 'GetRun',
      load: async () => async (event) => {
        seen.push(event);
        return { statusCode: 200, headers: { 'X-Request-Id': 'abc' }, body: JSON.stringify({ runId: event.pathParameters?.runId }) };
      },
    },
    {
      routeKey: 'POST /v1/runs',
      functionName: 'SubmitRun',
      load: async () => async (event) => {
        seen.push(event);
        return { accepted: event.body };
      },
    },
    {
      routeKey: 'GET /v1/boom',
      functionName: 'Boom',
      load: async () => async () => {
        throw new Error('secret internals');
      },
    },
  ];

  beforeAll(async () => {
    server = createApiServer({ routes, identity: { userArn: 'local:alice' }, isReady: () => ready, log: jsonLog(() => undefined) });
    base = `http://127.0.0.1:${await listenOnLoopback(server, 0)}`;
  });
  afterAll(() => closeServer(server));

  it('Given the platform not ready, When /v1/health or a route is asked, Then it is 503; When it is ready, Then /v1/health answers 200 ok', async () => {
    ready = false;
    expect((await fetch(`${base}/v1/health`)).status).toBe(503);
    expect((await fetch(`${base}/v1/runs/X`)).status).toBe(503);
    ready = true;
    const res = await fetch(`${base}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('Given a route with a path parameter, When it is called with a query and headers, Then the handler gets a payload v2 event with path parameters, query and the local IAM identity', async () => {
    ready = true;
    const res = await fetch(`${base}/v1/runs/RUN%201?limit=5&x=a&x=b`, { headers: { 'X-Custom': 'yes' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('abc');
    expect(await res.json()).toEqual({ runId: 'RUN 1' });
    const event = seen.at(-1)!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/runs/{runId}',
      rawPath: '/v1/runs/RUN%201',
      rawQueryString: 'limit=5&x=a&x=b',
      queryStringParameters: { limit: '5', x: 'a,b' },
      pathParameters: { runId: 'RUN 1' },
      isBase64Encoded: false,
      requestContext: { authorizer: { iam: { userArn: 'local:alice' } }, http: { method: 'GET' }, stage: '$default' },
    });
    expect(event.headers['x-custom']).toBe('yes');
  });

  it('Given a JSON body, When it is posted, Then the handler gets it as text and its plain object result is a 200 JSON answer', async () => {
    const res = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"repo":"a/b"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ accepted: '{"repo":"a/b"}' });
  });

  it("Given an unknown route or a handler that throws, When it is called, Then the answer is API Gateway's 404 or 500, without internals", async () => {
    const missing = await fetch(`${base}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
    expect((await fetch(`${base}/v1/runs`, { method: 'DELETE' })).status).toBe(404);
    const boom = await fetch(`${base}/v1/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toContain('secret internals');
  });

  it('Given the routes, When a path is matched, Then it matches segment by segment, the method in any case', () => {
    expect(matchRoute(routes, 'GET', '/v1/runs/')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/v1/runs/a/b')).toBeUndefined();
    expect(matchRoute(routes, 'get', '/v1/runs/a')?.pathParameters).toEqual({ runId: 'a' });
  });
});
