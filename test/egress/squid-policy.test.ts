import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { parseConfig } from '../../core/config/load';
import {
  blockedHostsMarkdown,
  parseAccessLogLine,
  proxyPortForRepo,
  reportRefusedHosts,
  awsProxiedHosts,
  withRunnerCredential,
  type ProxyPort,
} from '../../core/egress';
import { checkProxy, ProxyUnavailableError } from '../../adapters/http/proxy-check';
import { refusedHosts, refusedHostsFromCloudWatch } from '../../runner/egress/access-log-reader';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { connectVia, getVia } from './proxy-request';
import { squidOrSkip, startSquid, type RunningSquid } from './squid-process';

const { squid, describeWithSquid } = squidOrSkip();

const config = parseConfig({
  region: 'us-east-1',
  repos: [
    { name: 'acme/web', egressAllow: ['.internal-registry.example'] },
    { name: 'acme/api', egressAllow: ['api-only.example'] },
    { name: 'acme/docs' },
  ],
  egress: { allow: ['github.com', '.githubusercontent.com', 'registry.npmjs.org'] },
  model: {
    id: 'anthropic.claude',
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
  },
  github: { tokenSecret: 'nightshift/token' },
});

/** Squid answered by policy: 403 and its access-denied error page. */
function expectRefused(answer: { status: number; squidError: string }) {
  expect(answer.status).toBe(403);
  expect(answer.squidError).toMatch(/^ERR_ACCESS_DENIED/);
}

/** Not refused by policy. Nothing upstream is reachable from the test machine, so it fails later (DNS or connect), never with ERR_ACCESS_DENIED. */
function expectNotRefused(answer: { status: number; squidError: string }) {
  expect(answer.status).not.toBe(403);
  expect(answer.squidError).not.toMatch(/ERR_ACCESS_DENIED/);
}

describeWithSquid('the generated squid configuration, run by real squid', () => {
  let proxy: RunningSquid;
  let web: ProxyPort;
  let api: ProxyPort;
  let shared: ProxyPort;
  const startedAt = new Date(Date.now() - 1_000);

  beforeAll(async () => {
    proxy = await startSquid(squid!, config);
    web = proxy.ports.find((p) => p.repo === 'acme/web')!;
    api = proxy.ports.find((p) => p.repo === 'acme/api')!;
    shared = proxy.ports.find((p) => p.repo === null)!;
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('Given a domain outside the allowlist, When a tool asks for it with CONNECT or plain HTTP, Then squid refuses it with 403', async () => {
    expectRefused(await connectVia(proxy.url(shared), 'example.com:443'));
    expectRefused(await getVia(proxy.url(shared), 'http://exfil.example.net/upload'));
  });

  it('Given an allowlisted domain or a subdomain of a ".domain" entry, When a tool asks for it, Then squid does not refuse it', async () => {
    expectNotRefused(await connectVia(proxy.url(shared), 'github.com:443'));
    expectNotRefused(await connectVia(proxy.url(shared), 'raw.githubusercontent.com:443'));
    expectNotRefused(await connectVia(proxy.url(web), 'registry.npmjs.org:443'));
  });

  it("Given a repo's egressAllow domain, When a tool asks for it, Then squid allows it on that repo's port only", async () => {
    expectNotRefused(await connectVia(proxy.url(web), 'npm.internal-registry.example:443'));
    expectRefused(await connectVia(proxy.url(shared), 'npm.internal-registry.example:443'));
    expectRefused(await connectVia(proxy.url(api), 'npm.internal-registry.example:443'));
    expectNotRefused(await connectVia(proxy.url(api), 'api-only.example:443'));
    expectRefused(await connectVia(proxy.url(web), 'api-only.example:443'));
  });

  it('Given the runner credential, When it asks for the regional AWS API hosts the runner calls, Then squid allows them only for the configured region, and nothing else', async () => {
    const runner = (port: ProxyPort) => withRunnerCredential(proxy.url(port), proxy.runnerPassword);
    expectNotRefused(await connectVia(runner(shared), 'bedrock-runtime.us-east-1.amazonaws.com:443'));
    expectNotRefused(await connectVia(runner(shared), 'states.us-east-1.amazonaws.com:443'));
    expectNotRefused(await connectVia(runner(web), 'lambda.us-east-1.amazonaws.com:443'));
    expectRefused(await connectVia(runner(shared), 'bedrock-runtime.eu-west-1.amazonaws.com:443'));
    expectRefused(await connectVia(runner(shared), 's3.us-east-1.amazonaws.com:443'));
    // The credential opens nothing else.
    expectRefused(await connectVia(runner(shared), 'credential-opens-nothing.example:443'));
  });

  it('Given an allowlisted domain, When CONNECT asks for any port but 443, Then squid refuses it', async () => {
    expectRefused(await connectVia(proxy.url(shared), 'github.com:22'));
    expectRefused(await connectVia(proxy.url(shared), 'github.com:8443'));
    expectRefused(await connectVia(proxy.url(shared), 'github.com:80'));
    expectRefused(await getVia(proxy.url(shared), 'http://github.com:8080/'));
  });

  it('Given a raw IP destination in any spelling, When a tool asks for it, Then squid refuses it', async () => {
    expectRefused(await connectVia(proxy.url(shared), '140.82.112.3:443'));
    expectRefused(await getVia(proxy.url(shared), 'http://169.254.170.2/v2/credentials'));
    expectRefused(await connectVia(proxy.url(shared), '[::1]:443'));
    expectRefused(await getVia(proxy.url(shared), 'http://2130706433/'));
    expectRefused(await getVia(proxy.url(shared), 'http://0x7f.0.0.1/'));
  });

  it('Given a proxy port, When checkProxy reaches it, Then it names the port, and fails fast with a reason on the wrong port or none', async () => {
    await expect(checkProxy(proxy.url(web))).resolves.toEqual({ portName: web.name });
    const expected = proxyPortForRepo(config, 'acme/docs', proxy.ports[0]!.port);
    await expect(checkProxy(proxy.url(shared), { expectedPortName: expected.name })).resolves.toEqual({ portName: 'default' });
    await expect(checkProxy(proxy.url(shared), { expectedPortName: web.name })).rejects.toThrow(
      /serves allowlist "default", this run needs "repo-/,
    );
    // A port nothing listens on: the base block's last slot is never used by three repos.
    await expect(checkProxy(`http://127.0.0.1:${proxy.ports[0]!.port + 1000}`, { timeoutMs: 2_000 })).rejects.toThrow(
      ProxyUnavailableError,
    );
  });

  it('Given a server that is not our squid, When checkProxy reaches it, Then it is refused', async () => {
    const other: Server = createServer((_req, res) => res.writeHead(200).end('hello'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const { port } = other.address() as AddressInfo;
      await expect(checkProxy(`http://127.0.0.1:${port}`)).rejects.toThrow(/unexpected answer 200/);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  describe('refused hosts reported from the real access log', () => {
    let db: DynaliteHarness;
    beforeAll(async () => {
      db = await startDynalite();
    });
    afterAll(async () => {
      await db?.stop();
    });

    async function waitForLogLine(predicate: (line: string) => boolean): Promise<string> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const lines = readFileSync(proxy.accessLog, 'utf8').split('\n');
        const hit = lines.find(predicate);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no such access-log line in:\n${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('Given the access log squid wrote, When it is parsed, Then every line is read', async () => {
      await connectVia(proxy.url(web), 'blocked-only-here.example:443');
      await waitForLogLine((l) => l.includes('blocked-only-here.example'));
      const lines = readFileSync(proxy.accessLog, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      expect(lines.length).toBeGreaterThan(10);
      for (const line of lines) expect(parseAccessLogLine(line)).toBeDefined();
      const denied = parseAccessLogLine(lines.find((l) => l.includes('blocked-only-here.example'))!)!;
      expect(denied).toMatchObject({
        clientIp: '127.0.0.1',
        proxyPort: web.port,
        method: 'CONNECT',
        host: 'blocked-only-here.example',
        port: 443,
        squidStatus: 'TCP_DENIED',
        httpStatus: 403,
        errorCode: 'ERR_ACCESS_DENIED',
      });
    });

    it("Given the access log, When a run's refused hosts are listed, Then they are the refused ones only (not the allowed ones, not the health check) and go to the run's events", async () => {
      const until = new Date(Date.now() + 1_000);
      const hosts = await refusedHosts({ kind: 'file', path: proxy.accessLog }, { clientIp: '127.0.0.1', since: startedAt, until });
      const names = hosts.map((h) => h.host);
      expect(names).toEqual(
        expect.arrayContaining([
          'example.com',
          'exfil.example.net',
          'npm.internal-registry.example',
          'api-only.example',
          'github.com:22',
          'github.com:8443',
          '140.82.112.3',
          '169.254.170.2',
          '[::1]',
        ]),
      );
      expect(names).not.toContain('raw.githubusercontent.com');
      expect(names).not.toContain('proxy-check.nightshift.invalid');
      // The runner's own (credentialed) requests are not refusals.
      expect(names.some((n) => n.startsWith('bedrock-runtime.us-east-1'))).toBe(false);
      expect(hosts.find((h) => h.host === 'npm.internal-registry.example')!.count).toBe(2);

      // Narrowed to the web repo's port (local mode), only what that port refused.
      const webOnly = await refusedHosts(
        { kind: 'file', path: proxy.accessLog },
        { clientIp: '127.0.0.1', proxyPort: web.port, since: startedAt, until },
      );
      expect(webOnly.map((h) => h.host).sort()).toEqual(['api-only.example', 'blocked-only-here.example']);
      // Another client address saw nothing.
      expect(await refusedHosts({ kind: 'file', path: proxy.accessLog }, { clientIp: '10.0.0.9', since: startedAt, until })).toEqual([]);

      const runId = '01JD0000000000000000000000';
      const event = await reportRefusedHosts(db.store.events, runId, hosts);
      const { events } = await db.store.events.list(runId, { limit: 10 });
      expect(events).toEqual([event]);
      expect(events[0]).toMatchObject({
        type: 'egress_blocked',
        detail: { hosts: expect.arrayContaining([expect.objectContaining({ host: 'example.com', count: 1 })]) },
      });
      expect(events[0]!.message).toMatch(/^egress proxy refused \d+ hosts: /);
      expect(blockedHostsMarkdown(hosts)).toContain('- `example.com` (1 request)');
    });

    it("Given the proxy's log group in CloudWatch Logs, When refused hosts are listed with FilterLogEvents, Then the same refusals are found, by client IP and window", async () => {
      const lines = readFileSync(proxy.accessLog, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      // The proxy's log group as the awslogs driver fills it, seen from another task address (10.0.1.23).
      const messages = lines.map((l) => l.replace(' 127.0.0.1 ', ' 10.0.1.23 '));
      const requests: Record<string, unknown>[] = [];
      const logs = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const input = JSON.parse(body) as Record<string, unknown>;
          requests.push({ target: req.headers['x-amz-target'], ...input });
          // Two pages, to prove the token is followed; the service-side filter is not trusted, so
          // every line (allowed ones and another client's too) is returned.
          const half = Math.ceil(messages.length / 2);
          const page = input.nextToken === 'page-2' ? messages.slice(half) : messages.slice(0, half);
          const other = 'ns1 1795313985.660 10.0.1.99 3128 CONNECT other-run.example 443 TCP_DENIED 403 ERR_ACCESS_DENIED 3440 114';
          const events = [...page, other].map((message, i) => ({ eventId: String(i), message, timestamp: Date.now() }));
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ events, ...(input.nextToken ? {} : { nextToken: 'page-2' }) }));
        });
      });
      await new Promise<void>((r) => logs.listen(0, '127.0.0.1', r));
      try {
        const client = new CloudWatchLogsClient({
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${(logs.address() as AddressInfo).port}`,
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        });
        const until = new Date(Date.now() + 1_000);
        const hosts = await refusedHostsFromCloudWatch(client, '/nightshift/egress-proxy', {
          clientIp: '10.0.1.23',
          since: startedAt,
          until,
        });
        expect(hosts.map((h) => h.host)).toEqual(expect.arrayContaining(['example.com', 'api-only.example', '140.82.112.3']));
        expect(hosts.map((h) => h.host)).not.toContain('other-run.example');
        expect(hosts.map((h) => h.host)).not.toContain('github.com');
        expect(requests).toHaveLength(2);
        expect(requests[0]).toMatchObject({
          target: 'Logs_20140328.FilterLogEvents',
          logGroupName: '/nightshift/egress-proxy',
          startTime: startedAt.getTime(),
          endTime: until.getTime(),
          filterPattern: expect.stringContaining('client="10.0.1.23"'),
        });
        expect(requests[1]).toMatchObject({ nextToken: 'page-2' });
      } finally {
        await new Promise((r) => logs.close(r));
      }
    });
  });
  // Last: these refusals would otherwise be in the refused-hosts window above.
  describe('a tool (anything without the runner credential) asking for an AWS API host the runner uses', () => {
    const hosts = awsProxiedHosts('us-east-1');
    const wrong = (port: ProxyPort, user: string, password: string) => {
      const url = new URL(proxy.url(port));
      url.username = user;
      url.password = password;
      return url.toString();
    };
    it.each([
      ['no credential', (port: ProxyPort) => proxy.url(port)],
      ['a wrong password', (port: ProxyPort) => wrong(port, 'nightshift-runner', 'a'.repeat(43))],
      ['the right password under another user', (port: ProxyPort) => wrong(port, 'someone', proxy.runnerPassword)],
      ['a password that is not URL-safe', (port: ProxyPort) => wrong(port, 'nightshift-runner', `${proxy.runnerPassword}%20x`)],
    ])(
      'Given a tool with %s, When it asks for an AWS API host the runner uses, Then it is asked to authenticate (407) on every port, CONNECT and plain HTTP',
      async (_label, via) => {
        for (const port of proxy.ports) {
          for (const host of hosts) {
            const connect = await connectVia(via(port), `${host}:443`);
            const get = await getVia(via(port), `http://${host}/`);
            expect({ host, port: port.name, connect: connect.status, get: get.status }).toEqual({
              host,
              port: port.name,
              connect: 407,
              get: 407,
            });
          }
        }
      },
    );
  });
});
