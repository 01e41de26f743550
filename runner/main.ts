import '../core/polyfills';
import { runtimeConfig } from '../core/config/runtime';
import { createDocumentClient, tableNamesFromEnv } from '../core/store/client';
import { createStore } from '../core/store';
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
import { stepFunctionsCallbacks } from './task-callbacks';
import { directoryTraceSink, s3TraceSink } from './trace/trace-sink';

/** On SIGTERM the run has 30 s (ECS stopTimeout) to push work in progress and report. */
const SIGTERM_DEADLINE_MS = 28_000;

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const redactor = new Redactor();
  for (const secret of secretValuesOf(env)) redactor.add(secret);
  const settings = readRunnerEnvironment(env);
  // The task token stays in this process only: never in a child's environment, never logged.
  const taskToken = settings.TASK_TOKEN;
  delete process.env.TASK_TOKEN;

  const stop = new AbortController();
  let session: RunSession | undefined;
  process.once('SIGTERM', () => {
    stop.abort(new Error('SIGTERM'));
    // Store the trace now: pushing work in progress may use up the grace period.
    void session?.flushTrace().catch(() => undefined);
    setTimeout(() => process.exit(143), SIGTERM_DEADLINE_MS).unref();
  });

  const config = runtimeConfig();
  const region = settings.AWS_REGION ?? config.region;
  const doc = createDocumentClient(region ? { region } : {});
  const names = tableNamesFromEnv(env);
  const store = createStore(doc, names);
  const egress = egressSettingsFromEnv(env);
  // AWS APIs outside the VPC go through the proxy's default port (they are allowed on every port).
  const aws = runnerAwsClients({ ...(region ? { region } : {}), ...(egress ? { proxyUrl: egress.proxyBaseUrl } : {}) });
  let model: ModelProvider = selectModelProvider({
    spec: settings.NIGHTSHIFT_MODEL,
    model: config.model,
    bedrock: aws.bedrock,
    apiKey: tokenBrokerModelApiKey(aws.lambda, settings.TOKEN_BROKER_FUNCTION, settings.RUN_ID, (key) => redactor.add(key)),
    // The Anthropic and OpenAI-compatible APIs leave the VPC through the proxy, like Bedrock (loopback servers stay direct).
    ...(egress ? { fetch: proxiedFetch(egress.proxyBaseUrl) } : {}),
  });
  if (settings.NIGHTSHIFT_RECORD_DIR) model = RecordingProvider.inDirectory(model, settings.NIGHTSHIFT_RECORD_DIR, settings.RUN_ID, (value) => redactor.redactValue(value));
  session = new RunSession({
    runId: settings.RUN_ID,
    config,
    runs: store.runs,
    events: store.events,
    ledger: store.ledger,
    callbacks: stepFunctionsCallbacks(aws.sfn, taskToken),
    tokens: tokenBrokerSource(aws.lambda, settings.TOKEN_BROKER_FUNCTION),
    github: (token, repo, proxyUrl) => octokitGithubApi({ baseUrl: settings.GITHUB_API_URL ?? config.github.apiUrl, token, repo, ...(proxyUrl ? { fetch: proxiedFetch(proxyUrl) } : {}) }),
    model,
    traceSink: settings.TRACES_BUCKET ? s3TraceSink(aws.s3, settings.TRACES_BUCKET) : directoryTraceSink(settings.NIGHTSHIFT_TRACE_DIR!),
    workspace: runWorkspaceDir(settings.NIGHTSHIFT_WORKDIR, settings.RUN_ID),
    keepWorkspace: settings.NIGHTSHIFT_KEEP_WORKSPACE === '1',
    ...(settings.NIGHTSHIFT_TRACE_FLUSH_EVERY ? { traceFlushEveryRecords: settings.NIGHTSHIFT_TRACE_FLUSH_EVERY } : {}),
    toolUser: settings.NIGHTSHIFT_TOOL_USER,
    toolUserExclusive: settings.NIGHTSHIFT_TOOL_USER_EXCLUSIVE === '1',
    ...(egress ? { egress } : {}),
    // Repo secrets come from the broker too (local mode's broker reads NIGHTSHIFT_SECRETS_FILE).
    secrets: tokenBrokerSecretSource(aws.lambda, settings.TOKEN_BROKER_FUNCTION),
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
