import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApiClient, ApiError } from '../../cli/api-client';
import { regionOfApiUrl, sigV4Signer } from '../../cli/sigv4';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { rejection } from '../support/rejection';

describe('the API client', () => {
  let server: Server;
  let base: string;
  const requests: { req: IncomingMessage; body: string }[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{}' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests.push({ req, body });
        res.writeHead(answer.status, { 'content-type': 'application/json', 'x-request-id': 'req-1' }).end(answer.body);
      });
    });
    base = `http://127.0.0.1:${await listenOnLoopback(server, 0)}`;
  });
  afterAll(() => closeServer(server));

  it('Given an API error envelope, When the client gets it, Then it is one clear line with code and status, and the request carries the CLI source', async () => {
    answer = { status: 403, body: JSON.stringify({ error: { code: 'repo_not_allowed', message: 'evil/repo is not in the allowlist' } }) };
    const error = await rejection(new ApiClient({ baseUrl: base }).submit({ repo: 'evil/repo', prompt: 'x' }));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('evil/repo is not in the allowlist [repo_not_allowed, HTTP 403]');
    expect((error as ApiError).message).not.toContain('\n');
    expect((error as ApiError).requestId).toBe('req-1');
    const sent = requests.at(-1)!;
    expect(sent.req.headers['x-nightshift-source']).toBe('cli');
    expect(JSON.parse(sent.body)).toEqual({ repo: 'evil/repo', prompt: 'x' });
  });

  it("Given an error of API Gateway's own or a non-JSON answer, When the client gets it, Then it is reported on one line", async () => {
    answer = { status: 404, body: '{"message":"Not Found"}' };
    await expect(new ApiClient({ baseUrl: base }).inbox()).rejects.toThrow('GET /v1/inbox failed: Not Found [HTTP 404]');
    answer = { status: 502, body: '<html>\n bad gateway \n</html>' };
    await expect(new ApiClient({ baseUrl: base }).inbox()).rejects.toThrow('GET /v1/inbox failed: <html> bad gateway </html> [HTTP 502]');
  });

  it('Given an answer that does not match the API schema, When the client gets it, Then it is refused', async () => {
    answer = { status: 200, body: JSON.stringify({ runId: 42 }) };
    await expect(new ApiClient({ baseUrl: base }).getRun('R')).rejects.toThrow();
  });

  it('Given nothing listening at the API URL, When the client calls, Then it says clearly the connection was refused', async () => {
    const closed = createServer();
    const port = await listenOnLoopback(closed, 0);
    await closeServer(closed);
    await expect(new ApiClient({ baseUrl: `http://127.0.0.1:${port}` }).getRun('R')).rejects.toThrow(
      /cannot reach the Nightshift API at http:\/\/127\.0\.0\.1:\d+: connection refused/,
    );
  });

  it('Given a SigV4 signer, When the client sends a request, Then it is signed for execute-api in the region of the API URL', async () => {
    answer = { status: 200, body: JSON.stringify({ runs: [], nextCursor: null }) };
    const apiUrl = new URL(base);
    const signer = await sigV4Signer({
      apiUrl,
      region: 'eu-west-1',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' }),
    });
    await new ApiClient({ baseUrl: base, signer }).listRuns({ status: 'RUNNING', limit: 5 });
    const { req } = requests.at(-1)!;
    expect(req.url).toBe('/v1/runs?status=RUNNING&limit=5');
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(req.headers['x-amz-security-token']).toBe('session');
    expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(regionOfApiUrl(new URL('https://abc123.execute-api.ap-southeast-2.amazonaws.com/'))).toBe('ap-southeast-2');
  });
});
