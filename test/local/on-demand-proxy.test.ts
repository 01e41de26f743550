import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { createProxyIdleClock } from '../../adapters/dynamodb/proxy-idle-clock';
import { documentClientFor } from '../../adapters/dynamodb/client';
import { createEcsProxyService } from '../../adapters/ecs/proxy-service';
import { checkProxy, ProxyUnavailableError } from '../../adapters/http/proxy-check';
import { LOCAL_PROXY_SERVICE } from '../../local/egress-proxy-service';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';
import { squidOrSkip } from '../egress/squid-process';
import { ended, fastSession, sampleRepo, startTestPlatform, testHome, untilStatus, type TestPlatform } from './platform-harness';

const { describeWithSquid } = squidOrSkip();

/**
 * Issue 14 item 6, end to end in local mode: the proxy is a service of desired count 0 or 1 behind
 * local mode's ECS endpoint. The ECS adapter the Admit function and the run gauges use on AWS speaks
 * to it over the real SDK; Admit starts it for an admitted run, the queue sweep stops it once idle.
 */
describeWithSquid('local mode with the egress proxy on demand', () => {
  let t: TestPlatform;
  const ecs = () =>
    createEcsProxyService(
      LOCAL_PROXY_SERVICE,
      async () =>
        new ECSClient({
          endpoint: t.platform.awsEndpointsUrl,
          region: 'us-east-1',
          credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
        }),
    );
  const proxyAnswers = () =>
    checkProxy(t.platform.egressProxy!.url, { timeoutMs: 1_000 }).then(
      () => true,
      (error: unknown) => {
        if (error instanceof ProxyUnavailableError && error.unreachable) return false;
        throw error;
      },
    );

  beforeAll(async () => {
    // An on-demand proxy needs noProgressMinutes of 5 or more (the runner may wait for it without a heartbeat).
    const { home, configFile } = testHome({
      ...localFixture(),
      timeouts: { maxMinutes: 5, noProgressMinutes: 5 },
      network: { proxy: 'on-demand', proxyIdleMinutes: 1 },
    });
    t = await startTestPlatform({ session: fastSession, home, configFile });
  });
  afterAll(() => t?.stop());

  it('Given the on-demand proxy, When local mode starts, Then the proxy runs, as the first deploy starts one task', async () => {
    expect(t.platform.proxyService).toBeDefined();
    expect(await ecs().describe()).toEqual({ desiredCount: 1, runningCount: 1 });
    expect(await proxyAnswers()).toBe(true);
  });

  it('Given the proxy scaled to zero, When a run is submitted, Then Admit starts it through the ECS endpoint, and the run succeeds through it on the same port', async () => {
    await ecs().scaleTo(0);
    await t.platform.proxyService!.settled();
    expect(await ecs().describe()).toEqual({ desiredCount: 0, runningCount: 0 });
    expect(await proxyAnswers()).toBe(false);

    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 90_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
    expect(await ecs().describe()).toEqual({ desiredCount: 1, runningCount: 1 });
    expect(await proxyAnswers()).toBe(true);
    const { events } = await t.client.events(run.runId);
    expect(events.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^egress: tools and the runner's GitHub traffic go through the egress proxy/),
    );
    // Admit's UpdateService through the ECS endpoint started it. (The sweep, which scales the service directly,
    // could start it first only within the milliseconds between Admit's slot and its DescribeServices; Admit's
    // own part is pinned in test/orchestration/on-demand-proxy-admit.test.ts.)
    const updates = t.logs
      .filter((line) => line.includes('ECS UpdateService of the egress proxy'))
      .map((line) => (JSON.parse(line) as { desiredCount: number }).desiredCount);
    expect([[0, 1], [0]]).toContainEqual(updates);
    expect(t.logs.filter((line) => line.includes('"message":"on-demand egress proxy started"'))).toHaveLength(1);
  });

  it('Given the proxy seen idle for longer than proxyIdleMinutes, When the queue sweep runs, Then it stops the proxy and clears its idle clock', async () => {
    expect(await t.platform.store.slots.holders()).toEqual([]);
    // The sweep's own first sighting, moved two minutes back instead of waiting them out.
    const doc = documentClientFor(
      new DynamoDBClient({
        endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const clock = createProxyIdleClock(doc, process.env.CONTROL_TABLE!);
    await clock.clear();
    await clock.markIdle(new Date(Date.now() - 2 * 60_000).toISOString());
    await eventually(async () => (await ecs().describe()).runningCount === 0, 'the sweep to stop the idle proxy', 30_000);
    expect(await ecs().describe()).toEqual({ desiredCount: 0, runningCount: 0 });
    expect(await proxyAnswers()).toBe(false);
    expect(await clock.idleSince()).toBeUndefined();
  });

  it('Given the ECS endpoint, When another service is described or scaled, Then it is reported missing or refused, and the proxy is untouched', async () => {
    const other = createEcsProxyService(
      { cluster: LOCAL_PROXY_SERVICE.cluster, service: 'someone-elses' },
      async () =>
        new ECSClient({
          endpoint: t.platform.awsEndpointsUrl,
          region: 'us-east-1',
          credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
        }),
    );
    await expect(other.describe()).rejects.toThrow(/someone-elses .* cannot be described: MISSING/);
    await expect(other.scaleTo(1)).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
    expect(await ecs().describe()).toEqual({ desiredCount: 0, runningCount: 0 });
  });
});
