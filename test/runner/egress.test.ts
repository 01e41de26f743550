import { createServer } from 'node:net';
import { listPulls } from '../../local/forge';
import { localEgressSettings } from './support/egress';
import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';
import { squidOrSkip, startSquid, type RunningSquid } from '../egress/squid-process';

const { squid, describeWithSquid } = squidOrSkip();

describeWithSquid('the runner behind a real egress proxy (squid on loopback)', () => {
  let h: RunnerHarness;
  let proxy: RunningSquid;
  const config = testConfig(runnerFixture());

  beforeAll(async () => {
    h = await startRunnerHarness();
    proxy = await startSquid(squid!, config);
  });
  afterAll(async () => {
    await proxy?.stop();
    await h?.stop();
  });

  it('Given tools that try hosts off the allowlist, When the run goes through the proxy, Then the refused hosts are in the run events, the PR body and the EgressBlocked metric', async () => {
    // Given a run whose tools try two hosts that are not on the allowlist
    const run = await h.createRun({ prompt: 'Download the installer' });

    // When the runner replays the session with the proxy in front of its tools
    const { end, logs } = await startInProcessRun(h, run.runId, session('egress-probe'), {
      config,
      deps: { egress: localEgressSettings(proxy.url(proxy.ports[0]!), proxy.accessLog) },
    }).done;

    // Then the tools went through the proxy and were refused
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    const toolOutputs = events.filter((e) => e.type === 'tool_call').map((e) => String(e.detail?.output));
    expect(toolOutputs[0]).toMatch(/curl (000|403)|CONNECT tunnel failed, response 403|curl refused/);
    expect(toolOutputs[1]).toContain('node 403');
    expect(events.some((e) => e.type === 'note' && String(e.message).startsWith('egress: tools and the runner'))).toBe(true);

    // the refused hosts are one egress_blocked event
    const blocked = events.filter((e) => e.type === 'egress_blocked');
    expect(blocked).toHaveLength(1);
    const hosts = (blocked[0]!.detail!.hosts as { host: string; count: number }[]).map((x) => x.host).sort();
    expect(hosts).toEqual(['blocked-by-node.example.net', 'denied.example.com']);

    // and a "Blocked hosts" section in the draft PR
    const [pr] = listPulls(h.forgeRoot, 'demo/sample-app').filter((p) => p.head.includes(run.runId));
    expect(pr!.body).toContain('### Blocked hosts');
    expect(pr!.body).toContain('- `denied.example.com` (1 request)');
    expect(pr!.body).toContain('- `blocked-by-node.example.net` (1 request)');

    // and the EgressBlocked metric counts the refused requests
    const emf = logs.filter((l) => l.includes('"EgressBlocked"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ EgressBlocked: 2, repo: 'demo/sample-app', runId: run.runId });
  });

  it('Given a proxy that does not answer, When the runner starts, Then it fails fast with egress_proxy_unavailable, before cloning', async () => {
    // Given a proxy URL where nothing listens
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = await h.createRun({ prompt: 'Anything' });
    const requestsBefore = h.forge.requests.length;

    // When the runner starts
    const { end } = await startInProcessRun(h, run.runId, session('egress-probe'), {
      config,
      deps: { egress: localEgressSettings(`http://127.0.0.1:${port}`, proxy.accessLog) },
    }).done;

    // Then the run fails with the code, and nothing else happened
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    expect(end.kind === 'failed' && end.cause).toMatch(
      /^egress_proxy_unavailable: egress proxy http:\/\/127\.0\.0\.1:\d+ is not usable: ECONNREFUSED/,
    );
    expect(h.forge.requests.length).toBe(requestsBefore);
  });

  it('Given a proxy port that serves another allowlist (proxy and runner configs differ), When the runner starts, Then it fails fast with egress_proxy_unavailable', async () => {
    // Given a runner config where the repo has its own port, and a squid that does not know that repo
    const runnerConfig = testConfig(runnerFixture());
    runnerConfig.repos[0] = { ...runnerConfig.repos[0]!, egressAllow: ['.internal-mirror.example'] };
    const run = await h.createRun({ prompt: 'Anything' });

    // When the runner checks its repo's port on a proxy that has only the default port
    const base = proxy.url(proxy.ports[0]!);
    const { end } = await startInProcessRun(h, run.runId, session('egress-probe'), {
      config: runnerConfig,
      deps: { egress: localEgressSettings(base, proxy.accessLog) },
    }).done;

    // Then the preflight refuses it
    expect(end.kind === 'failed' && end.cause).toMatch(/^egress_proxy_unavailable: /);
  });
});

describe('the runner without an egress proxy', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given no egress proxy, When the run goes on, Then its events say tools ran without one', async () => {
    const run = await h.createRun({ prompt: 'Download the installer' });
    const { end } = await startInProcessRun(h, run.runId, session('egress-probe')).done;
    expect(end.kind).toBe('succeeded');
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    expect(events.filter((e) => e.type === 'note').map((e) => e.message)).toContain(
      'egress: NIGHTSHIFT_PROXY_URL is not set, so tools ran without an egress proxy (no network allowlist)',
    );
    expect(events.some((e) => e.type === 'egress_blocked')).toBe(false);
    const [pr] = listPulls(h.forgeRoot, 'demo/sample-app').filter((p) => p.head.includes(run.runId));
    expect(pr!.body).not.toContain('Blocked hosts');
  });
});
