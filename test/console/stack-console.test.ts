import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stackConsoleFor } from '../../cli/commands/console';
import { runCli } from '../../cli/program';
import { sigV4Signer } from '../../cli/sigv4';
import { startStackConsole, type StackConsole } from '../../console/server/stack-console';
import { classifiedRunDiff } from '../../console/server/run-diff';
import { runViewFixture } from '../support/run-view';

/**
 * `nightshift console` against a loopback stand-in for the stack's API that checks every request's
 * SigV4 signature (service execute-api) by signing it again with the same credentials.
 */
const credentials = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret' };
const region = 'eu-west-1';
const runId = '01J00000000000000000000000';
const aRun = runViewFixture({ runId });
/** What the stack's GET /v1/runs/{runId}/diff answers (lambdas/api/get-run-diff.ts): GitHub's compare diff and .nightshift.yml of the base, as text. */
const DIFF_TEXT =
  'diff --git a/docs/guide.md b/docs/guide.md\n--- a/docs/guide.md\n+++ b/docs/guide.md\n@@ -1 +1 @@\n-old\n+new <script>x</script>\n';
const diffText = {
  runId,
  repo: 'acme/web',
  base: 'main',
  head: `nightshift/${runId}-x`,
  diff: DIFF_TEXT,
  truncated: false,
  nightshiftYml: 'protectedPaths:\n  - "docs/**"\n',
};

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  signatureValid: boolean;
}

async function verifySignature(req: IncomingMessage, body: string): Promise<boolean> {
  const authorization = req.headers.authorization ?? '';
  const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';');
  const amzDate = req.headers['x-amz-date'];
  if (!signed || typeof amzDate !== 'string') return false;
  const headers: Record<string, string> = {};
  for (const name of signed) headers[name] = String(req.headers[name] ?? '');
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const request = new HttpRequest({
    method: req.method ?? 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers,
    ...(body ? { body } : {}),
  });
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  const date = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const again = await signer.sign(request, { signingDate: date });
  return again.headers.authorization === authorization;
}

function startFakeApi(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      void verifySignature(req, body).then((signatureValid) => {
        received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, signatureValid });
        if (!signatureValid) {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'The request signature we calculated does not match the signature you provided.' }));
          return;
        }
        if (/^\/v1\/runs\/[0-9A-Z]{26}$/.test(req.url ?? '') && req.url !== `/v1/runs/${runId}`) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'run_not_found', message: 'no run with this id' } }));
          return;
        }
        if (req.method === 'POST' && req.url?.startsWith('/v1/inbox/')) {
          // The inbox's resolution rule in small: the first answer resolves, any other is a conflict.
          const first = (JSON.parse(body) as { answer?: string }).answer === 'Yes.';
          res.writeHead(first ? 200 : 409, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(
              first
                ? { itemId: 'item', state: 'resolved' }
                : { error: { code: 'inbox_item_resolved', message: 'the item was already resolved with "answer"' } },
            ),
          );
          return;
        }
        if (req.url === `/v1/runs/${runId}/diff`) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(diffText));
          return;
        }
        res.writeHead(req.method === 'POST' ? 202 : 200, {
          'content-type': 'application/json',
          'x-request-id': 'req-1',
          'set-cookie': 'stack=1',
        });
        res.end(
          JSON.stringify(
            req.method === 'POST'
              ? { runId, status: 'QUEUED', links: {} }
              : req.url === `/v1/runs/${runId}`
                ? aRun
                : { runs: [], nextCursor: null },
          ),
        );
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received })),
  );
}

describe('nightshift console (stack console proxy)', () => {
  let api: Awaited<ReturnType<typeof startFakeApi>>;
  let console_: StackConsole;

  beforeAll(async () => {
    api = await startFakeApi();
    const apiUrl = new URL(api.url);
    console_ = await startStackConsole({
      apiUrl,
      port: 0,
      signer: await sigV4Signer({ apiUrl, region, credentials: async () => credentials }),
      repos: [{ name: 'acme/web', budgetUsd: 2, maxMinutes: 60 }],
      budgets: { perRunUsd: 2, maxPerRunUsd: 10 },
    });
  });
  afterAll(async () => {
    await console_.stop();
    await new Promise((r) => api.server.close(r));
  });

  it("Given a page's read through the stack console, When it is forwarded, Then it is signed with SigV4, query included, the answer passed back, and the browser's cookie and authorization kept out", async () => {
    const response = await fetch(`${console_.url}/v1/runs?status=RUNNING&limit=5`, {
      headers: { cookie: 'session=secret', authorization: 'Bearer from-page' },
    });
    expect(response.status).toBe(200);
    await expect(response.json()).resolves.toEqual({ runs: [], nextCursor: null });
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(response.headers.get('set-cookie')).toBeNull();
    const seen = api.received.at(-1)!;
    expect(seen).toMatchObject({ method: 'GET', path: '/v1/runs?status=RUNNING&limit=5', signatureValid: true });
    expect(seen.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
    // The browser's cookie and authorization never reach the API.
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.authorization).not.toContain('from-page');
  });

  it('Given a same-origin JSON submit, When it is forwarded, Then its body and idempotency key go with it, signed', async () => {
    const body = JSON.stringify({ repo: 'acme/web', prompt: 'Fix it' });
    const response = await fetch(`${console_.url}/v1/runs`, {
      method: 'POST',
      headers: { origin: console_.url, 'content-type': 'application/json', 'idempotency-key': 'k-1' },
      body,
    });
    expect(response.status).toBe(202);
    const seen = api.received.at(-1)!;
    expect(seen).toMatchObject({ method: 'POST', path: '/v1/runs', body, signatureValid: true });
    expect(seen.headers['idempotency-key']).toBe('k-1');
    expect(seen.headers.authorization).toContain('idempotency-key');
  });

  it("Given the inbox page, When an item is resolved through it, Then the resolution is forwarded signed and the API's 409 passed back unchanged; a cross-site one forwards nothing", async () => {
    const page = await fetch(`${console_.url}/inbox`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const itemPath = '/v1/inbox/01J00000000000000000000001';
    const resolve = (answer: string, origin = console_.url) =>
      fetch(`${console_.url}${itemPath}`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'answer', answer }),
      });
    expect((await resolve('Yes.')).status).toBe(200);
    expect(api.received.at(-1)).toMatchObject({
      method: 'POST',
      path: itemPath,
      body: '{"action":"answer","answer":"Yes."}',
      signatureValid: true,
    });
    const conflict = await resolve('No.');
    expect(conflict.status).toBe(409);
    await expect(conflict.json()).resolves.toEqual({
      error: { code: 'inbox_item_resolved', message: 'the item was already resolved with "answer"' },
    });
    const before = api.received.length;
    expect((await resolve('Yes.', 'https://evil.example')).status).toBe(403);
    expect(api.received.length).toBe(before);
  });

  it('Given other origins, other hosts, non-JSON changes and changes without an Origin, When they reach the stack console, Then they are refused and nothing is forwarded', async () => {
    const before = api.received.length;
    const post = (headers: Record<string, string>) => fetch(`${console_.url}/v1/runs`, { method: 'POST', headers, body: '{}' });
    expect((await post({ origin: 'https://evil.example', 'content-type': 'application/json' })).status).toBe(403);
    expect((await post({ origin: console_.url, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post({ 'content-type': 'application/json' })).status).toBe(403);
    expect((await fetch(`${console_.url}/v1/runs`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const rebinding = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${console_.url}/v1/runs`);
      const req = require('node:http').request(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'attacker.example:80' } },
        (res: IncomingMessage) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebinding).toBe(403);
    expect(api.received.length).toBe(before);
  });

  it('Given the stack console, When the page is asked for, Then it is served with a strict CSP and its configuration', async () => {
    const page = await fetch(`${console_.url}/runs/01J00000000000000000000000`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/console.js"></script>');
    expect(html).not.toMatch(/<script>|style=/);
    const script = await fetch(`${console_.url}/console.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).not.toContain('innerHTML');
    await expect((await fetch(`${console_.url}/_console/config`)).json()).resolves.toEqual({
      mode: 'stack',
      api: new URL(api.url).origin,
      repos: [{ name: 'acme/web', budgetUsd: 2, maxMinutes: 60 }],
      budgets: { perRunUsd: 2, maxPerRunUsd: 10 },
      diffs: true,
    });
    expect((await fetch(`${console_.url}/nope/at/all/here`)).status).toBe(404);
  });

  it("Given a run's page, When its diff is asked for, Then the API is asked (signed) for the run, then for GET /v1/runs/{runId}/diff, and it is answered as local mode's console does", async () => {
    const before = api.received.length;
    const diff = await fetch(`${console_.url}/_console/runs/${runId}/diff`);
    expect(diff.status).toBe(200);
    // Classified here as local mode's console classifies the forge's diff: .nightshift.yml's protected path marked.
    await expect(diff.json()).resolves.toEqual(
      classifiedRunDiff({
        repo: 'acme/web',
        base: 'main',
        head: `nightshift/${runId}-x`,
        diffText: DIFF_TEXT,
        protectedPaths: ['docs/**'],
      }),
    );
    const [file] = classifiedRunDiff({ repo: 'acme/web', base: 'main', head: 'h', diffText: DIFF_TEXT, protectedPaths: ['docs/**'] }).diff
      .files;
    expect(file!.hunks[0]!.lines.filter((l) => l.kind !== 'context').map((l) => l.risks.map((r) => r.kind))).toEqual([
      ['protected_path'],
      ['protected_path'],
    ]);
    expect(api.received.slice(before).map((r) => [r.path, r.signatureValid])).toEqual([
      [`/v1/runs/${runId}`, true],
      [`/v1/runs/${runId}/diff`, true],
    ]);
    // Pull requests of a stack live on GitHub.
    expect((await fetch(`${console_.url}/_console/pulls/acme/web/1`)).status).toBe(404);
    // A run the API does not show this caller stays hidden: its refusal comes back unchanged.
    const unknown = await fetch(`${console_.url}/_console/runs/01J00000000000000000000001/diff`);
    expect(unknown.status).toBe(404);
    await expect(unknown.json()).resolves.toEqual({ error: { code: 'run_not_found', message: 'no run with this id' } });
  });
});

describe('stackConsoleFor (the command’s wiring)', () => {
  it("Given the command's wiring, When the stack console starts, Then it signs with the default credential chain and reads the allowlist from NIGHTSHIFT_CONFIG", async () => {
    const api = await startFakeApi();
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    try {
      const server = await stackConsoleFor({ api: api.url, port: 0, env: { NIGHTSHIFT_CONFIG: 'nightshift.config.json' } });
      try {
        const response = await fetch(`${server.url}/v1/runs`);
        expect(response.status).toBe(200);
        expect(api.received.at(-1)?.signatureValid).toBe(true);
        const config = (await (await fetch(`${server.url}/_console/config`)).json()) as { repos: { name: string }[] };
        expect(config.repos.map((r) => r.name)).toEqual(['demo/sample-app', 'acme/web']);
      } finally {
        await server.stop();
      }
    } finally {
      process.env = saved;
      await new Promise((r) => api.server.close(r));
    }
  });

  it('Given no --api, When nightshift console runs, Then it points at local mode and exits 1', async () => {
    const saved = process.env.NIGHTSHIFT_API;
    delete process.env.NIGHTSHIFT_API;
    const err: string[] = [];
    try {
      await expect(runCli(['console'], { out: () => undefined, err: (t) => err.push(t) })).resolves.toBe(1);
    } finally {
      if (saved !== undefined) process.env.NIGHTSHIFT_API = saved;
    }
    expect(err.join('\n')).toContain('Local mode serves the console itself at http://127.0.0.1:8787/');
  });

  it('Given an API URL that is not http(s), When the stack console starts, Then it is refused', async () => {
    await expect(stackConsoleFor({ api: 'file:///etc/passwd', port: 0, env: {} })).rejects.toThrow('must be http(s)');
  });
});
