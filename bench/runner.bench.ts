import '../core/polyfills';
import { cachedPrefixShare, cacheReadableShare } from '../runner/model/conversation';
import type { ModelRequest } from '../runner/model/provider';
import { ReplayProvider } from '../runner/model/replay-provider';
import { Redactor } from '../runner/redaction';
import { RunSession } from '../runner/run-session';
import { brokerEventLog, brokerLedger, brokerRunAccess } from '../runner/broker-run-data';
import { tokenBrokerSource } from '../runner/github-token-source';
import { octokitGithubApi } from '../runner/github/github-api';
import { directoryCheckpointStore, directoryTraceSink } from '../runner/trace/trace-sink';
import { join } from 'node:path';
import { inProcessBroker, recordingCallbacks, session, startRunnerHarness, testConfig, type RunnerHarness } from '../test/runner/support/runner-harness';
import { runWhenMain } from './run-main';

/**
 * The runner's two benchmark figures (issue 4), measured on the sample repository with replayed sessions:
 *  1. runner start to its first model call, with the clone, setup and base tests taken out;
 *  2. the share of each request's input tokens before its last cache checkpoint, over 30 turns.
 */
async function runSession(h: RunnerHarness, file: string): Promise<{ session: RunSession; provider: ReplayProvider }> {
  const config = testConfig();
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
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { session: s } = await runSession(h, session('fix-failing-test'));
      const t = s.timings;
      samples.push(t.firstModelCall! - t.clone! - t.setup! - t.baseTests!);
    }
    samples.sort((a, b) => a - b);
    console.log(`runner start to first model call (clone, setup and base tests excluded): median ${samples[2]!.toFixed(0)} ms over ${samples.length} runs`);

    const { provider } = await runSession(h, session('thirty-turns'));
    const requests = provider.requests as ModelRequest[];
    const shares = requests.map(cachedPrefixShare);
    // The tail checkpoint makes the first share 100% by construction; what a call can actually read
    // from the cache is the prefix the previous call wrote, so that share is printed beside it.
    const readable = requests.slice(1).map((r, i) => cacheReadableShare(requests[i]!, r));
    const pct = (xs: number[]) => `mean ${((xs.reduce((a, b) => a + b, 0) / xs.length) * 100).toFixed(1)}%, min ${(Math.min(...xs) * 100).toFixed(1)}%`;
    console.log(`input before the last cache checkpoint over a ${requests.length}-turn replayed session: ${pct(shares)} (readable from the previous call's cache writes: ${pct(readable)})`);
  } finally {
    await h.stop();
  }
}

runWhenMain(module, main);
