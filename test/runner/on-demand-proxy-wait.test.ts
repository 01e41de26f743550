import { connect, createServer, type Server } from 'node:net';
import { localEgressSettings } from './support/egress';
import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';
import { squidOrSkip, startSquid, type RunningSquid } from '../egress/squid-process';

const { squid, describeWithSquid } = squidOrSkip();

/**
 * A proxy that is still starting, made deterministic: a loopback port that resets its first
 * `unready` connections (as a proxy task not yet up: nothing answers), then passes every later one
 * to a real squid. It counts the connections it saw.
 */
async function startingProxy(target: { host: string; port: number }, unready: number) {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    if (connections <= unready) {
      socket.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Issue 14 item 6: with `network.proxy: "on-demand"` the runner waits, bounded, for a proxy that is starting. */
describeWithSquid('the runner with an on-demand egress proxy', () => {
  let h: RunnerHarness;
  let proxy: RunningSquid;
  const alwaysOn = testConfig(runnerFixture());
  const onDemand = testConfig(runnerFixture(), { network: { proxy: 'on-demand' }, timeouts: { maxMinutes: 60, noProgressMinutes: 5 } });
  const quickWait = { checkMs: 20, maxChecks: 5 };

  beforeAll(async () => {
    h = await startRunnerHarness();
    proxy = await startSquid(squid!, alwaysOn);
  });
  afterAll(async () => {
    await proxy?.stop();
    await h?.stop();
  });

  const squidTarget = () => ({ host: '127.0.0.1', port: Number(new URL(proxy.url(proxy.ports[0]!)).port) });

  it('Given an on-demand proxy that answers on the third check, When the runner starts, Then it waits for it, says so in the events, and the run goes on through it', async () => {
    const starting = await startingProxy(squidTarget(), 2);
    try {
      const run = await h.createRun({ prompt: 'Download the installer' });
      const { end } = await startInProcessRun(h, run.runId, session('egress-probe'), {
        config: onDemand,
        deps: { egress: { ...localEgressSettings(starting.url, proxy.accessLog), startWait: quickWait } },
      }).done;
      expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
      const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
      const notes = events.filter((e) => e.type === 'note').map((e) => String(e.message));
      expect(notes).toContainEqual(expect.stringMatching(/^egress: waited \d+ s for the on-demand egress proxy to start$/));
      expect(notes).toContainEqual(expect.stringMatching(/^egress: tools and the runner's GitHub traffic go through the egress proxy/));
      // Two refused checks before the first broker call, the third answered, then the run's own check and the tools' traffic.
      expect(starting.connections()).toBeGreaterThan(3);
    } finally {
      await starting.stop();
    }
  });

  it('Given an on-demand proxy that never comes up, When the runner has checked maxChecks times, Then the run fails with egress_proxy_unavailable', async () => {
    const never = await startingProxy(squidTarget(), Number.POSITIVE_INFINITY);
    try {
      const run = await h.createRun({ prompt: 'Anything' });
      const requestsBefore = h.forge.requests.length;
      const { end } = await startInProcessRun(h, run.runId, session('egress-probe'), {
        config: onDemand,
        deps: { egress: { ...localEgressSettings(never.url, proxy.accessLog), startWait: quickWait } },
      }).done;
      expect(end.kind === 'failed' && end.cause).toMatch(
        /^egress_proxy_unavailable: egress proxy http:\/\/127\.0\.0\.1:\d+ is not usable: /,
      );
      // The five checks of the wait, then the run's own check that reports the failure; nothing was cloned.
      expect(never.connections()).toBe(quickWait.maxChecks + 1);
      expect(h.forge.requests.length).toBe(requestsBefore);
    } finally {
      await never.stop();
    }
  });

  it('Given the proxy always on and not answering, When the runner starts, Then it does not wait: one check and the run fails', async () => {
    const down = await startingProxy(squidTarget(), Number.POSITIVE_INFINITY);
    try {
      const run = await h.createRun({ prompt: 'Anything' });
      const { end } = await startInProcessRun(h, run.runId, session('egress-probe'), {
        config: alwaysOn,
        deps: { egress: { ...localEgressSettings(down.url, proxy.accessLog), startWait: quickWait } },
      }).done;
      expect(end.kind === 'failed' && end.cause).toMatch(/^egress_proxy_unavailable: /);
      expect(down.connections()).toBe(1);
    } finally {
      await down.stop();
    }
  });
});
