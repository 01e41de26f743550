import '../core/polyfills';
import { runtimeConfig } from '../core/config/runtime';
import { withRunnerCredential } from '../core/egress/runner-credential';
import { runnerGiveUpAfterMs } from '../core/runs/stop-grace';
import {
  brokerCheckpointStore,
  brokerEventLog,
  brokerLedger,
  brokerRunAccess,
  brokerSetupCacheUrls,
  brokerTraceSink,
} from './broker-run-data';
import { type as osType, release as osRelease } from 'node:os';
import { egressSettingsFromEnv } from './egress/egress-settings';
import { proxiedFetch, runnerAwsClients } from './egress/proxied-clients';
import { octokitGithubApi } from './github/github-api';
import { tokenBrokerSource } from './github-token-source';
import { stdoutSink } from './log';
import { tokenBrokerModelApiKey } from './model/model-api-key';
import type { ModelProvider } from './model/provider';
import { RecordingProvider } from './model/recording-provider';
import { selectModelProvider } from './model/select-provider';
import { Redactor } from './redaction';
import { runWorkspaceDir, RunSession } from './run-session';
import { readRunnerEnvironment, secretValuesOf } from './runner-environment';
import { tokenBrokerSecretSource } from './secrets/repo-secrets';
import { directorySetupCacheStore, presignedSetupCacheStore } from './session/setup-cache';
import { stepFunctionsCallbacks } from './task-callbacks';
import { lambdaBrokerCaller } from './token-broker-client';
import { directoryCheckpointStore, directoryTraceSink } from './trace/trace-sink';

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const redactor = new Redactor();
  for (const secret of secretValuesOf(env)) redactor.add(secret);
  const settings = readRunnerEnvironment(env);
  // The task token, the run key and the proxy credential stay in this process only: never in a
  // child's environment, never logged (the redactor has them).
  const taskToken = settings.TASK_TOKEN;
  for (const name of ['TASK_TOKEN', 'RUN_KEY', 'NIGHTSHIFT_PROXY_PASSWORD']) delete process.env[name];

  const stop = new AbortController();
  let session: RunSession | undefined;
  // `on`, not `once`: a second SIGTERM (the platform stopping a task that is already checkpointing
  // after a Spot interruption) must not kill the process before it reports and cleans up.
  process.on('SIGTERM', () => {
    if (stop.signal.aborted) return;
    stop.abort(new Error('SIGTERM'));
    // Store the trace now: pushing work in progress may use up the grace period.
    void session?.flushTrace().catch(() => undefined);
    // The grace the launcher grants (core/runs/stop-grace.ts), less a margin so the exit is ours, not a SIGKILL.
    setTimeout(() => process.exit(143), runnerGiveUpAfterMs(settings.NIGHTSHIFT_STOP_TIMEOUT_SECONDS)).unref();
  });

  const config = runtimeConfig();
  const region = settings.AWS_REGION ?? config.region;
  const egress = egressSettingsFromEnv(env);
  // AWS APIs outside the VPC go through the proxy's default port with the runner credential, which
  // the proxy requires for them (core/egress/runner-credential.ts); the tools' proxy URL has none.
  const awsProxy =
    egress && settings.NIGHTSHIFT_PROXY_PASSWORD
      ? withRunnerCredential(egress.proxyBaseUrl, settings.NIGHTSHIFT_PROXY_PASSWORD)
      : undefined;
  const aws = runnerAwsClients({ ...(region ? { region } : {}), ...(awsProxy ? { proxyUrl: awsProxy } : {}) });
  // The runner has no DynamoDB or S3 access: its run, events, ledger and trace go through the broker, with the run key.
  const broker = lambdaBrokerCaller(aws.lambda, settings.TOKEN_BROKER_FUNCTION, settings.RUN_KEY);
  let model: ModelProvider = selectModelProvider({
    spec: settings.NIGHTSHIFT_MODEL,
    model: config.model,
    bedrock: aws.bedrock,
    apiKey: tokenBrokerModelApiKey(broker, settings.RUN_ID, (key) => redactor.add(key)),
    // The Anthropic and OpenAI-compatible APIs leave the VPC through the proxy, like Bedrock (loopback servers stay direct).
    ...(egress ? { fetch: proxiedFetch(egress.proxyBaseUrl) } : {}),
  });
  // Native builds depend on the image, the architecture and the Node version: all of them are in the setup cache's key.
  const setupCacheImage = `${settings.NIGHTSHIFT_RUNNER_IMAGE ?? `local ${osType()} ${osRelease()}`} ${process.platform}-${process.arch} node ${process.version}`;
  const setupCacheDir = settings.NIGHTSHIFT_SETUP_CACHE_DIR;
  const setupCacheUrls = settings.TRACES_BUCKET ? brokerSetupCacheUrls(broker, settings.RUN_ID) : undefined;
  if (settings.NIGHTSHIFT_RECORD_DIR)
    model = RecordingProvider.inDirectory(model, settings.NIGHTSHIFT_RECORD_DIR, settings.RUN_ID, (value) => redactor.redactValue(value));
  session = new RunSession({
    runId: settings.RUN_ID,
    config,
    runs: brokerRunAccess(broker),
    events: brokerEventLog(broker),
    ledger: brokerLedger(broker),
    callbacks: stepFunctionsCallbacks(aws.sfn, taskToken),
    tokens: tokenBrokerSource(broker),
    github: (token, repo, proxyUrl) =>
      octokitGithubApi({
        baseUrl: settings.GITHUB_API_URL ?? config.github.apiUrl,
        token,
        repo,
        ...(proxyUrl ? { fetch: proxiedFetch(proxyUrl) } : {}),
      }),
    model,
    traceSink: settings.TRACES_BUCKET ? brokerTraceSink(broker) : directoryTraceSink(settings.NIGHTSHIFT_TRACE_DIR!),
    // Pause checkpoints are kept like traces: presigned by the broker for this run only, a directory locally.
    checkpoints: settings.TRACES_BUCKET ? brokerCheckpointStore(broker) : directoryCheckpointStore(settings.NIGHTSHIFT_TRACE_DIR!),
    ...(setupCacheDir || setupCacheUrls
      ? {
          setupCache: (repo: string) => ({
            store: setupCacheDir ? directorySetupCacheStore(setupCacheDir, repo) : presignedSetupCacheStore(setupCacheUrls!),
            image: setupCacheImage,
          }),
        }
      : {}),
    workspace: runWorkspaceDir(settings.NIGHTSHIFT_WORKDIR, settings.RUN_ID),
    keepWorkspace: settings.NIGHTSHIFT_KEEP_WORKSPACE === '1',
    ...(settings.NIGHTSHIFT_TRACE_FLUSH_EVERY ? { traceFlushEveryRecords: settings.NIGHTSHIFT_TRACE_FLUSH_EVERY } : {}),
    toolUser: settings.NIGHTSHIFT_TOOL_USER,
    toolUserExclusive: settings.NIGHTSHIFT_TOOL_USER_EXCLUSIVE === '1',
    ...(egress ? { egress } : {}),
    // Repo secrets come from the broker too (local mode's broker reads NIGHTSHIFT_SECRETS_FILE).
    secrets: tokenBrokerSecretSource(broker),
    redactor,
    logSink: stdoutSink,
    stop: stop.signal,
  });
  const end = await session.execute();
  return end.kind === 'succeeded' ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Only reached before the session exists (bad environment or config): no secret values here.
      process.stderr.write(`${JSON.stringify({ level: 'error', service: 'nightshift-runner', message: (err as Error).message })}\n`);
      process.exit(2);
    },
  );
}
