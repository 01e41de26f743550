import { spawnSync } from 'node:child_process';
import { request as httpRequest, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ApiRoute } from '../../local/api-gateway';
import { createApiServer } from '../../local/api-server';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { jsonLog } from '../../local/local-log';
import { loopbackPeerUid, operatorOnly, peerUidFromTable } from '../../local/loopback-peer';

/**
 * Local mode's API has no credentials on loopback. Two classes of caller must not drive it: a web
 * page in the operator's browser (cross-site requests, DNS rebinding) and another OS user of the
 * machine, above all the user the agent's tools run as.
 */

interface Answer {
  status: number;
  body: string;
}

/** A raw request: fetch would not let a test choose Host or Sec-Fetch-* headers. */
function send(port: number, init: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: init.method ?? 'GET',
        path: init.path ?? '/v1/runs/R1',
        headers: { host: `127.0.0.1:${port}`, ...init.headers },
        setHost: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('the local API refuses cross-site requests', () => {
  let server: Server;
  let port: number;
  let handled = 0;
  const counted = (statusCode: number) => {
    handled++;
    return { statusCode, body: '{}' };
  };
  const routes: ApiRoute[] = [
    { routeKey: 'GET /v1/runs/{runId}', functionName: 'GetRun', load: async () => async () => counted(200) },
    { routeKey: 'POST /v1/runs', functionName: 'SubmitRun', load: async () => async () => counted(202) },
  ];

  beforeAll(async () => {
    server = createApiServer({ routes, identity: { userArn: 'local:alice' }, isReady: () => true, log: jsonLog(() => undefined) });
    port = await listenOnLoopback(server, 0);
  });
  afterAll(() => closeServer(server));

  const post = (headers: Record<string, string>) => ({ method: 'POST', path: '/v1/runs', headers, body: '{"repo":"a/b","prompt":"p"}' });
  const json = { 'content-type': 'application/json' };

  it.each([
    ['a DNS name rebound to 127.0.0.1 (Host)', () => ({ headers: { host: `evil.example:${port}` } })],
    ['another port in Host', () => ({ headers: { host: `127.0.0.1:${port + 1}` } })],
    ['no port in Host', () => ({ headers: { host: '127.0.0.1' } })],
    ['an Origin of another site', () => ({ headers: { origin: 'http://evil.example' } })],
    ['an Origin of another loopback port (same site, other origin)', () => ({ headers: { origin: `http://127.0.0.1:${port + 1}` } })],
    ['an Origin of the other loopback name', () => ({ headers: { origin: `http://localhost:${port}` } })],
    ['an https Origin', () => ({ headers: { origin: `https://127.0.0.1:${port}` } })],
    ['Origin null (sandboxed frame, file:)', () => ({ headers: { origin: 'null' } })],
    ['Sec-Fetch-Site cross-site', () => ({ headers: { 'sec-fetch-site': 'cross-site' } })],
    ['Sec-Fetch-Site same-site', () => ({ headers: { 'sec-fetch-site': 'same-site' } })],
    ['a cross-site JSON POST', () => post({ ...json, origin: 'http://evil.example' })],
    ['a rebound JSON POST', () => post({ ...json, host: `attacker.test:${port}` })],
  ])('Given %s, When it reaches the local API, Then it is refused with 403 before any handler runs', async (_what, init) => {
    const before = handled;
    const answer = await send(port, init());
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error.code).toBe('cross_site_refused');
    expect(handled).toBe(before);
  });

  it.each([
    ['text/plain (a simple cross-site fetch or form)', { 'content-type': 'text/plain' }],
    ['a urlencoded form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a multipart form', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['no content type', {}],
    ['a JSON look-alike', { 'content-type': 'application/jsonp' }],
  ])(
    'Given a POST with %s, When it reaches the local API, same-origin or not, Then it is refused with 415 before any handler runs',
    async (_what, headers: Record<string, string>) => {
      const before = handled;
      const answer = await send(port, post(headers));
      expect(answer.status).toBe(415);
      expect(JSON.parse(answer.body).error.code).toBe('unsupported_media_type');
      expect(handled).toBe(before);
    },
  );

  it('Given same-origin requests from the CLI or the web console on either loopback name, Then they are answered; a cross-site navigation to the console page is not refused as cross-site', async () => {
    expect((await send(port, {})).status).toBe(200);
    expect((await send(port, post(json))).status).toBe(202);
    expect((await send(port, post({ 'content-type': 'application/json; charset=utf-8' }))).status).toBe(202);
    // What a browser sends for the console's own fetches, by either loopback name
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const console = { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' };
      expect((await send(port, { headers: console })).status).toBe(200);
      expect((await send(port, post({ ...json, ...console }))).status).toBe(202);
    }
    // A user following a link to the console page is a cross-site navigation: not refused as such
    expect((await send(port, { path: '/', headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } })).status).toBe(404);
  });
});

describe('the local API answers only its operator', () => {
  it('Given a /proc/net/tcp table, When the client end of a loopback connection is looked up, Then its owner uid is read, and an unknown connection has none', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   999        0 3 1',
    ].join('\n');
    const server = { address: '127.0.0.1', port: 0x1f90 };
    // Little-endian hosts list 127.0.0.1 as 0100007F
    if (require('node:os').endianness() === 'LE') expect(peerUidFromTable(table, { address: '127.0.0.1', port: 0xd431 }, server)).toBe(999);
    expect(peerUidFromTable(table, { address: '127.0.0.1', port: 0xd432 }, server)).toBeUndefined();
  });

  const linux = process.platform === 'linux';
  // The owner of a loopback connection is read from /proc/net/tcp: Linux only (docs/local-mode.md says what other systems do).
  (linux ? it : it.skip)(
    `Given a loopback connection of this process, When its owner is looked up, Then it is this process's uid${linux ? '' : ' (skipped: /proc/net/tcp exists on Linux only)'}`,
    async () => {
      const seen: (number | undefined)[] = [];
      const callerRefusal = (socket: Socket): undefined => {
        seen.push(loopbackPeerUid(socket));
        return undefined;
      };
      const server = createApiServer({
        routes: [],
        identity: { userArn: 'local:me' },
        isReady: () => true,
        log: jsonLog(() => undefined),
        callerRefusal,
      });
      const port = await listenOnLoopback(server, 0);
      try {
        expect((await send(port, { path: '/v1/health' })).status).toBe(200);
        expect(seen).toEqual([process.getuid!()]);
      } finally {
        await closeServer(server);
      }
    },
  );

  it("Given the operator's uid, When connections of another uid or that cannot be placed arrive, Then they are refused, root and the operator are not, and each connection is decided once", () => {
    const uids = new Map<object, number | undefined>();
    const check = operatorOnly(1000, (socket) => uids.get(socket));
    const mine = {} as Socket;
    const tool = {} as Socket;
    const root = {} as Socket;
    const gone = {} as Socket;
    uids.set(mine, 1000).set(tool, 999).set(root, 0).set(gone, undefined);
    expect(check(mine)).toBeUndefined();
    expect(check(root)).toBeUndefined();
    expect(check(tool)).toMatch(/uid 999/);
    expect(check(gone)).toMatch(/could not tell/);
    // Decided once: a later lookup does not change the connection's answer
    uids.set(tool, 1000);
    expect(check(tool)).toMatch(/uid 999/);
  });

  const toolUser = spawnSync('id', ['-u', 'nightshift-tool'], { encoding: 'utf8' });
  const asRoot = process.getuid?.() === 0 && toolUser.status === 0 && linux;
  if (!asRoot)
    it.skip('Given a process of the tool user, When it calls the API, Then it is refused (needs root and a nightshift-tool user, as in CI)', () =>
      undefined);
  else
    it('Given a process of the tool user, When it calls the API as a tool command would, Then it is refused while the operator may submit', async () => {
      const server = createApiServer({
        routes: [
          {
            routeKey: 'POST /v1/runs',
            functionName: 'SubmitRun',
            load: async () => async () => ({ statusCode: 202, body: '{"runId":"x"}' }),
          },
        ],
        identity: { userArn: 'local:root' },
        isReady: () => true,
        log: jsonLog(() => undefined),
        callerRefusal: operatorOnly(process.getuid!()),
      });
      const port = await listenOnLoopback(server, 0);
      try {
        // The operator may submit
        expect(
          (await send(port, { method: 'POST', path: '/v1/runs', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
        ).toBe(202);
        // A tool command (another uid) may not, however well-formed its request
        const script = `fetch('http://127.0.0.1:${port}/v1/runs',{method:'POST',headers:{'content-type':'application/json'},body:'{}'}).then(async r=>console.log(r.status, await r.text()))`;
        const uid = Number(toolUser.stdout.trim());
        const gid = Number(spawnSync('id', ['-g', 'nightshift-tool'], { encoding: 'utf8' }).stdout.trim());
        const out = await new Promise<string>((resolve, reject) => {
          const child = require('node:child_process').spawn(process.execPath, ['-e', script], {
            uid,
            gid,
            cwd: '/',
            env: { PATH: process.env.PATH ?? '' },
          });
          let text = '';
          child.stdout.on('data', (c: Buffer) => (text += c.toString()));
          child.on('error', reject);
          child.on('close', () => resolve(text));
        });
        expect(out).toMatch(/^403 .*local_caller_refused/);
      } finally {
        await closeServer(server);
      }
    });
});
