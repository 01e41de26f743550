import type { ProxyServicePort } from '../../core/egress/proxy-demand';
import { eventually } from '../support/eventually';
import { stackFixture, testConfig } from '../support/test-config';
import { withOrchestrationHarness } from './harness';

/**
 * Issue 14 item 6: the Admit state of the deployed definition, executed offline, starts an on-demand
 * proxy for the run it admits, after the run took its slots, and for no run that waits in the queue.
 */
const config = testConfig(stackFixture, { network: { proxy: 'on-demand' }, concurrency: { global: 1, perRepo: 1 } });
const h = withOrchestrationHarness(config);

/** The proxy's service (our port), recording each call and which runs held a slot when the count was set. */
function recordingService(desiredCount: number, faults: { describe?: number } = {}) {
  const calls: string[] = [];
  const holdersAtScale: string[][] = [];
  let desired = desiredCount;
  let describeFaults = faults.describe ?? 0;
  const port: ProxyServicePort = {
    describe: async () => {
      calls.push('describe');
      if (describeFaults-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return { desiredCount: desired, runningCount: 0 };
    },
    scaleTo: async (to) => {
      calls.push(`scaleTo(${to})`);
      holdersAtScale.push(await h.db.store.slots.holders());
      desired = to;
    },
  };
  return { port, calls, holdersAtScale };
}

test('Given the proxy scaled to zero, When a run is admitted, Then Admit sets the desired count to 1 once the run holds its slot, and the runner task starts', async () => {
  const service = recordingService(0);
  h.deps.proxy = service.port;
  const runId = await h.submit('acme/web');
  await h.runnerOf(runId);
  expect(service.calls).toEqual(['describe', 'scaleTo(1)']);
  expect(service.holdersAtScale).toEqual([[runId]]);
});

test('Given a run admitted while the proxy is up, and a second run that must queue, When both pass Admit, Then the service is described once and never scaled', async () => {
  const service = recordingService(1);
  h.deps.proxy = service.port;
  const first = await h.submit('acme/web');
  await h.runnerOf(first);
  const second = await h.submit('acme/web');
  await eventually(async () => (await h.db.store.runs.get(second))?.queuePosition === 1, 'the second run to queue');
  expect(h.runnersOf(second)).toEqual([]);
  expect(service.calls).toEqual(['describe']);
});

test('Given ECS throttling the first DescribeServices, When a run is admitted, Then the Admit state retries and the run starts with the proxy started', async () => {
  const service = recordingService(0, { describe: 1 });
  h.deps.proxy = service.port;
  const runId = await h.submit('acme/web');
  await h.runnerOf(runId);
  expect(service.calls).toEqual(['describe', 'describe', 'scaleTo(1)']);
  expect(await h.db.store.slots.holders()).toEqual([runId]);
});
