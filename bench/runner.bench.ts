import '../core/polyfills';
import { cachedPrefixShare, cacheReadableShare } from '../runner/model/conversation';
import { estimateTokens } from '../core/pricing';
import type { ModelRequest } from '../runner/model/provider';
import { ReplayProvider } from '../runner/model/replay-provider';
import { Redactor } from '../runner/redaction';
import { RunSession } from '../runner/run-session';
import { brokerEventLog, brokerLedger, brokerRunAccess } from '../runner/broker-run-data';
import { tokenBrokerSource } from '../runner/github-token-source';
import { octokitGithubApi } from '../runner/github/github-api';
import { directoryCheckpointStore, directoryTraceSink } from '../runner/trace/trace-sink';
import { join } from 'node:path';
import {
  inProcessBroker,
  recordingCallbacks,
  session,
  startRunnerHarness,
  type RunnerHarness,
} from '../test/runner/support/runner-harness';
import { runnerFixture, testConfig } from '../test/support/test-config';
import { runWhenMain } from './run-main';

/**
 * Prompt caching over a 30-turn replayed session on the sample repository: the share of each request's
 * input before its last cache checkpoint, the share readable from the previous call's cache writes, and
 * what the input costs in dollars with caching against without (token counts estimated from the
 * requests with the runner's own estimator, at the configured model's prices). Runner start → first
 * model call is measured on a real runner process in bench/local.bench.ts.
 */
async function runSession(h: RunnerHarness, file: string): Promise<{ session: RunSession; provider: ReplayProvider }> {
  const config = testConfig(runnerFixture());
  const run = await h.createRun({ prompt: 'Benchmark run' });
  const provider = new ReplayProvider(file);
  const broker = inProcessBroker(h.brokerDeps(config), run.runKey);
  const runner = new RunSession({
    runId: run.runId,
    config,
    runs: brokerRunAccess(broker),
    events: brokerEventLog(broker),
    ledger: brokerLedger(broker),
    callbacks: recordingCallbacks(),
    tokens: tokenBrokerSource(broker),
    github: (token, repo) => octokitGithubApi({ baseUrl: h.forge.url, token, repo }),
    model: provider,
    traceSink: directoryTraceSink(join(h.root, 'traces')),
    checkpoints: directoryCheckpointStore(join(h.root, 'traces')),
    workspace: join(h.root, 'work', run.runId),
    redactor: new Redactor(),
    logSink: () => undefined,
    stop: new AbortController().signal,
  });
  const end = await runner.execute();
  if (end.kind !== 'succeeded') throw new Error(`benchmark run failed: ${end.kind === 'failed' ? end.cause : 'it paused'}`);
  return { session: runner, provider };
}

export async function main(): Promise<void> {
  const h = await startRunnerHarness();
  try {
    const { provider } = await runSession(h, session('thirty-turns'));
    const requests = provider.requests as ModelRequest[];
    const shares = requests.map(cachedPrefixShare);
    // The tail checkpoint makes the first share 100% by construction; what a call can actually read
    // from the cache is the prefix the previous call wrote, so that share is printed beside it.
    const readable = requests.slice(1).map((r, i) => cacheReadableShare(requests[i]!, r));
    const pct = (xs: number[]) =>
      `mean ${((xs.reduce((a, b) => a + b, 0) / xs.length) * 100).toFixed(1)}%, min ${(Math.min(...xs) * 100).toFixed(1)}%`;
    console.log(
      `input before the last cache checkpoint over a ${requests.length}-turn replayed session: ${pct(shares)} (readable from the previous call's cache writes: ${pct(readable)})`,
    );
    // Dollars: without caching every input token is billed as input; with it, the part the previous call
    // wrote is a cache read, the rest before the last checkpoint a cache write, the tail plain input.
    const prices = testConfig(runnerFixture()).model.prices;
    let withCache = 0;
    let withoutCache = 0;
    requests.forEach((request, i) => {
      const tokens = estimateTokens([request.toolConfig?.tools, request.system, request.messages]);
      const read = i === 0 ? 0 : readable[i - 1]! * tokens;
      const written = Math.max(0, shares[i]! * tokens - read);
      withCache += (read * prices.cacheRead + written * prices.cacheWrite + (tokens - read - written) * prices.input) / 1e6;
      withoutCache += (tokens * prices.input) / 1e6;
    });
    console.log(
      `input cost of the ${requests.length} turns at $${prices.input}/$${prices.cacheRead}/$${prices.cacheWrite} per MTok (input/cache read/cache write): $${withCache.toFixed(3)} with caching, $${withoutCache.toFixed(3)} without (${((withCache / withoutCache) * 100).toFixed(0)}%)`,
    );
  } finally {
    await h.stop();
  }
}

runWhenMain(module, main);
