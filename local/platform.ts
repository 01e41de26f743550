import '../core/polyfills';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { parseModelChoice } from './model-choice';
import { isForPeople } from '../core/inbox/inbox-notification';
import { issuePath, loadConfig } from '../core/config/load';
import { setRuntimeConfig } from '../core/config/runtime';
import type { NightshiftConfig } from '../core/config/schema';
import { RunId } from '../core/runs/schemas';
import { RUNNER_STOP_TIMEOUT_SECONDS } from '../core/runs/stop-grace';
import { documentClientFor } from '../core/store/client';
import { createStore, type Store } from '../core/store/index';
import type { ApiRoute, ApiHandler } from './api-gateway';
import { routesFromTemplate } from './api-routes';
import { createApiServer, errorText } from './api-server';
import { consoleAssets } from '../console/server/console-assets';
import { createAwsEndpoints } from './aws-endpoints';
import { createLocalConsole } from './console-server';
import { startLocalDynamo, type LocalDynamo } from './dynamo-server';
import { findSquid, startEgressProxy, type LocalEgressProxy } from './egress-proxy';
import { startForge, type ForgeServer } from './forge';
import { assertHomeIsPrivate, ensureHome, resolveHome, secureSecretsFile, type NightshiftHome } from './home';
import { closeServer, listenOnLoopback } from './http-listen';
import { canIdentifyLoopbackPeers, operatorOnly } from './loopback-peer';
import { fileLog, stderrLog, type LocalLog } from './local-log';
import { assertPortsFree, listenAs, localPorts } from './ports';
import { recoverInterruptedRuns } from './recovery';
import { failLostLocalRunner, localSecretValues } from './runner-loss';
import { RunnerProcesses } from './runner-processes';
import { reapToolLeftovers } from './tool-leftovers';
import { extractStateMachine, LocalStateMachine, type IntegrationCall } from './state-machine';
import { synthesizedTemplate } from './synthesized-stack';
import { exposeToHandlers, runnerEnvironment, serviceEnvironment } from './service-environment';
import { newMessageId } from './sns-topics';
import { TemplateFunctions } from './template-functions';
import { bundledFile } from '../bin/bundles';
import { capsOf } from '../core/runs/caps';
import { QUEUE_SWEEP_MS, sweepQueue } from './queue-sweep';

/**
 * Local mode (docs/local-mode.md): the whole platform on one machine. The same handlers behind a loopback API
 * Gateway stand-in, dynalite for DynamoDB, the state machine definition from the synthesized stack run
 * by the offline executor, the runner as a child process per run, the local forge as GitHub, squid as
 * the egress proxy when installed. The handlers and the runner keep their AWS code paths: their SDK
 * clients are pointed at loopback endpoints with AWS_ENDPOINT_URL_<SERVICE> (local/service-environment.ts);
 * the template's functions are served from their modules by local/template-functions.ts.
 */

/** The repository root: handler entries and the runner are resolved from it. */
export const repoRoot = resolve(__dirname, '..');

export interface LocalPlatformOptions {
  home: NightshiftHome;
  /** Absolute path of the configuration file. */
  configFile: string;
  /** The base port (local/ports.ts: the API on it, the other listeners above it); 0 puts every listener on a free port. */
  port: number;
  /** NIGHTSHIFT_MODEL for the runners: `bedrock`, `anthropic`, `openai` or `replay:<absolute file>`; undefined: none is configured, and submissions are refused with how to configure one. */
  model: string | undefined;
  /** NIGHTSHIFT_RECORD: each run's model responses are recorded (redacted) to `<dir>/<runId>.jsonl`. */
  recordDir?: string;
  /** Who local requests come from, shaped like an IAM principal: `local:<os user>`. */
  requester: string;
  log: LocalLog;
  /** The stop timeout between SIGTERM and SIGKILL of a runner (default: the task definition's, core/runs/stop-grace.ts). */
  runnerStopTimeoutMs?: number;
  /** Start squid when it is installed (default true). */
  egressProxy?: boolean;
  /** Where synthesized templates are cached (default $NIGHTSHIFT_HOME/cache); tests share one across homes. */
  templateCacheDir?: string;
  /** Log level of the handlers' Powertools loggers (default INFO). */
  handlerLogLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

export interface LocalPlatform {
  url: string;
  home: NightshiftHome;
  forgeUrl: string;
  forge: ForgeServer;
  model: string | undefined;
  recordDir: string | undefined;
  config: NightshiftConfig;
  store: Store;
  runners: RunnerProcesses;
  machine: LocalStateMachine;
  egressProxy: LocalEgressProxy | undefined;
  /** Runs ended by restart recovery at this start. */
  recovered: string[];
  stop(): Promise<void>;
}

const LocalEnv = z.object({
  PORT: z.string().regex(/^\d{1,5}$/, 'must be a port number').default('8787'),
  NIGHTSHIFT_HOME: z.string().min(1).default('.nightshift'),
  NIGHTSHIFT_CONFIG: z.string().min(1).default('nightshift.config.json'),
  NIGHTSHIFT_MODEL: z.string().min(1).optional(),
  /** A directory: every run's model responses, recorded in the replay format (docs/providers.md). */
  NIGHTSHIFT_RECORD: z.string().min(1).optional(),
  /** Where synthesized templates are cached (default $NIGHTSHIFT_HOME/cache); several homes can share one. */
  NIGHTSHIFT_CACHE_DIR: z.string().min(1).optional(),
});

/** Options from the environment, as `nightshift dev` takes them (docs/local-mode.md#environment). */
export function localPlatformOptionsFromEnv(env: NodeJS.ProcessEnv, options: { logTo: 'stderr' | 'file'; logFormat?: 'json' | 'text' }): LocalPlatformOptions {
  const read = LocalEnv.safeParse(env);
  if (!read.success) throw new Error(`local mode's environment is invalid: ${read.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`).join('; ')}`);
  const parsed = read.data;
  const basePort = Number(parsed.PORT);
  // Checked now, so a base port without room for every listener is one line at start.
  localPorts(basePort);
  const home = resolveHome(parsed.NIGHTSHIFT_HOME);
  ensureHome(home);
  return {
    home,
    configFile: resolve(parsed.NIGHTSHIFT_CONFIG),
    port: basePort,
    model: resolveModel(parsed.NIGHTSHIFT_MODEL, env, resolve(parsed.NIGHTSHIFT_CONFIG)),
    ...(parsed.NIGHTSHIFT_RECORD ? { recordDir: resolve(parsed.NIGHTSHIFT_RECORD) } : {}),
    requester: localRequester(),
    ...(parsed.NIGHTSHIFT_CACHE_DIR ? { templateCacheDir: resolve(parsed.NIGHTSHIFT_CACHE_DIR) } : {}),
    log: options.logTo === 'stderr' ? stderrLog(options.logFormat) : fileLog(join(home.logs, 'platform.log')),
    // For a person: the handlers' own per-request JSON lines only when they warn.
    ...(options.logFormat === 'text' ? { handlerLogLevel: 'WARN' as const } : {}),
  };
}

/**
 * The config's `model.provider` when it is anthropic or openai; `bedrock` when AWS credentials are
 * present; else nothing can serve a run: the choice is explicit.
 */
export function resolveModel(model: string | undefined, env: NodeJS.ProcessEnv, configFile: string): string | undefined {
  const configured = configuredModelProvider(configFile);
  // The runner would refuse a bad choice at every run's start: say so once, now, in one line.
  const choice = model ? parseModelChoice(model) : undefined;
  if (choice?.kind === 'provider' && configured && choice.name !== configured) {
    throw new Error(`NIGHTSHIFT_MODEL=${choice.name} but the config's model.provider is ${configured}: unset NIGHTSHIFT_MODEL or set model.provider (docs/providers.md)`);
  }
  if (choice) return choice.kind === 'replay' ? `replay:${choice.file}` : choice.name;
  if (configured && configured !== 'bedrock') return configured;
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_WEB_IDENTITY_TOKEN_FILE);
  // No model: the platform still starts (the console, the forge, the API), and a submission says how to configure one.
  return hasCredentials ? 'bedrock' : undefined;
}

/** What a submission is told while local mode has no model to serve runs with. */
export const NO_MODEL_MESSAGE =
  'local mode has no model to run agents with: set model.provider to anthropic or openai in the config (docs/providers.md), start it with NIGHTSHIFT_MODEL=replay:<session.jsonl>, or provide AWS credentials for Bedrock (NIGHTSHIFT_MODEL=bedrock)';

/**
 * Local mode's caller is its operator, the OS user running it (`local:<user>`); other OS users are
 * refused at the door (local/loopback-peer.ts). The operator is an admin: it sees the runs of schedules
 * and webhooks too, which have other requesters.
 */
export function withLocalOperator(config: NightshiftConfig, requester: string): NightshiftConfig {
  if (config.auth.admins.includes(requester)) return config;
  return { ...config, auth: { ...config.auth, admins: [...config.auth.admins, requester] } };
}

/** `model.provider` of the config file, read without validating it (startLocalPlatform validates the whole file). */
function configuredModelProvider(configFile: string): string | undefined {
  try {
    const parsed = z.object({ model: z.object({ provider: z.string().default('bedrock') }) }).safeParse(JSON.parse(readFileSync(configFile, 'utf8')));
    return parsed.success ? parsed.data.model.provider : undefined;
  } catch {
    return undefined;
  }
}

export function localRequester(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `local:${name.replace(/[^A-Za-z0-9._@-]/g, '_') || 'unknown'}`;
}

const runTaskResource = 'arn:aws:states:::ecs:runTask.waitForTaskToken';

/**
 * The runner program: the esbuild bundle the runner image runs (bin/bundles.js, built once and cached by
 * the hash of its sources under .nightshift/bundles), with the image's NODE_OPTIONS (--enable-source-maps).
 */
export async function runnerCommand(): Promise<string[]> {
  const { file } = await bundledFile('runner');
  return [process.execPath, '--enable-source-maps', file];
}

const RunTaskParameters = z
  .object({
    StartedBy: RunId,
    Overrides: z.object({
      ContainerOverrides: z
        .array(z.object({ Name: z.string(), Environment: z.array(z.object({ Name: z.string(), Value: z.string() })).default([]) }).passthrough())
        .min(1),
    }),
  })
  .passthrough();

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const { home, log } = options;
  ensureHome(home);
  // As root, the tools run as another user: nothing it can write may lead to the platform's files.
  if (process.getuid?.() === 0) assertHomeIsPrivate(home);
  secureSecretsFile(home.secretsFile);
  const toolUser = localToolUser(log);
  const config = withLocalOperator(loadConfig(options.configFile), options.requester);
  setRuntimeConfig(config);
  // Every listener's port from the one base port, each checked free before anything starts.
  const ports = localPorts(options.port);
  await assertPortsFree(ports, options.port, config, options.egressProxy !== false && findSquid() !== undefined);
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log.error('shutdown step failed', { error: errorText(error) }));
    cleanups.length = 0;
  };

  try {
    const runners = new RunnerProcesses({
      command: await runnerCommand(),
      cwd: repoRoot,
      workDir: home.work,
      logsDir: home.logs,
      baseEnv: {},
      stopTimeoutMs: options.runnerStopTimeoutMs ?? RUNNER_STOP_TIMEOUT_SECONDS * 1000,
      log,
    });
    runners.reapOrphans(() => readdirSync(home.logs).filter((f) => f.endsWith('.runner.pid')).map((f) => join(home.logs, f)));
    // Their tool commands run in process groups of their own, which the runners' groups do not reach.
    reapToolLeftovers({ workDir: home.work, toolUid: toolUidOf(toolUser) }, log);
    cleanups.push(() => runners.stopAll());

    const dynamo: LocalDynamo = await listenAs('dynamo', ports.dynamo, options.port, () => startLocalDynamo({ dataDir: home.data, port: ports.dynamo }));
    cleanups.push(() => dynamo.stop());
    const store = createStore(documentClientFor(dynamo.client), dynamo.names);

    // Pull request links open the web console's PR view, on the API's port (known once it listens).
    let consoleUrl: string | undefined;
    const forge: ForgeServer = await listenAs('forge', ports.forge, options.port, () => startForge({ root: home.forge, port: ports.forge, webUrl: () => consoleUrl }));
    cleanups.push(() => forge.stop());

    const egressProxy = options.egressProxy === false ? undefined : await startEgressProxy({ config, dir: join(home.root, 'egress'), log, toolUid: toolUidOf(toolUser), ...(ports.proxy !== undefined ? { basePort: ports.proxy } : {}) });
    if (egressProxy) cleanups.push(() => egressProxy.stop());
    else log.warn('squid is not installed: runner tools will run without the egress proxy, and each run says so in its events');

    const { template, cached } = await synthesizedTemplate({ repoRoot, config, cacheDir: options.templateCacheDir ?? home.cache, log });
    log.info('stack template ready', { cached });

    if (options.recordDir) mkdirSync(options.recordDir, { recursive: true, mode: 0o700 });

    // The AWS endpoints are created first (their port goes into the environment), answered once the executor exists.
    let machine: LocalStateMachine | undefined;
    const functions = new TemplateFunctions({ repoRoot, log });
    // SNS: a published message for people goes to the outbox file (what would have been e-mailed), and each to the
    // template's Lambda subscriptions of its topic, asynchronously as SNS delivers (local/sns-topics.ts).
    const outbox = join(home.logs, 'notifications.jsonl');
    const endpoints: Server = createAwsEndpoints({
      sfn: {
        sendTaskSuccess: (token, output) => requireMachine().sendTaskSuccess(token, output),
        sendTaskFailure: (token, error, cause) => requireMachine().sendTaskFailure(token, error, cause),
        sendTaskHeartbeat: (token) => requireMachine().sendTaskHeartbeat(token),
        startExecution: (arn, name, input) => requireMachine().startExecution(arn, name, input),
        stopExecution: (arn, error, cause) => requireMachine().stopExecution(arn, error, cause),
      },
      ecs: {
        listTasks: (startedBy) => runners.taskArns(startedBy),
        stopTask: (taskArn) => runners.stopTask(taskArn),
      },
      functions: functions.byName,
      sns: {
        publish: async (message) => {
          const messageId = newMessageId();
          // The outbox holds what people would be told (the inbox topic's machine events go to the webhook function only).
          if (isForPeople(message.attributes)) appendFileSync(outbox, `${JSON.stringify({ at: new Date().toISOString(), messageId, ...message })}\n`, { mode: 0o600 });
          log.info('notification published (local outbox)', { topicArn: message.topicArn, subject: message.subject, attributes: message.attributes, outbox });
          functions.deliver(message, messageId);
          return messageId;
        },
      },
      log,
    });
    const requireMachine = (): LocalStateMachine => {
      if (!machine) throw new Error('the local state machine is not ready');
      return machine;
    };
    const endpointUrl = `http://127.0.0.1:${await listenAs('awsEndpoints', ports.awsEndpoints, options.port, () => listenOnLoopback(endpoints, ports.awsEndpoints))}`;
    cleanups.push(() => closeServer(endpoints));

    const serviceEnv = serviceEnvironment({ dynamo, awsEndpointsUrl: endpointUrl, configFile: options.configFile, home, githubApiUrl: forge.url });
    const extracted = extractStateMachine(template);
    exposeToHandlers(serviceEnv, { extracted, template, home, handlerLogLevel: options.handlerLogLevel ?? 'INFO' });
    const handlers = functions.serve(extracted, template);

    // Each live runner's task token and the secrets handed to it, to fail its task if it dies without reporting.
    const runnerTasks = new Map<string, { taskToken: string; secretValues: string[] }>();
    const runTask = async (call: IntegrationCall): Promise<unknown> => {
      const parameters = RunTaskParameters.parse(call.parameters);
      const overrides: Record<string, string> = {};
      for (const { Name, Value } of parameters.Overrides.ContainerOverrides[0]!.Environment) overrides[Name] = Value;
      const runId = parameters.StartedBy;
      const { taskArn } = runners.start(runId, overrides);
      if (overrides.TASK_TOKEN) runnerTasks.set(taskArn, { taskToken: overrides.TASK_TOKEN, secretValues: [overrides.RUN_KEY ?? '', egressProxy?.runnerPassword ?? ''] });
      return { Tasks: [{ TaskArn: taskArn, StartedBy: runId, LastStatus: 'PROVISIONING' }], Failures: [] };
    };

    machine = new LocalStateMachine(extracted, {
      handlers,
      integrations: { [runTaskResource]: runTask },
      log: (message, fields) => log.info(message, fields),
    });
    const executor = machine;
    cleanups.push(() => executor.close());
    // The queue sweep the run gauges make every minute on AWS: wakes what a lost wake-up left waiting.
    const sweep = setInterval(() => void sweepQueue({ queue: store.queue, slots: store.slots, caps: capsOf(config), machine: executor }).catch((error: unknown) => log.warn('queue sweep failed', { error: errorText(error) })), QUEUE_SWEEP_MS);
    sweep.unref();
    cleanups.push(async () => clearInterval(sweep));

    runners.setBaseEnv(runnerEnvironment(serviceEnv, { extracted, home, model: options.model, recordDir: options.recordDir, toolUser, egressProxy }));

    // A runner that dies without reporting fails its run's task at once, as ECS's Task State Change
    // event does on AWS (local/runner-loss.ts); the heartbeat stays the backstop. A stop the platform
    // asked for (cancel, finalize, shutdown) is not a loss.
    runners.on('exited', (exit) => {
      const task = runnerTasks.get(exit.taskArn);
      runnerTasks.delete(exit.taskArn);
      if (exit.stopRequested || !task) return;
      failLostLocalRunner(exit, { taskToken: task.taskToken, secretValues: [...task.secretValues, ...localSecretValues(home.secretsFile)] }, (token, error, cause) =>
        requireMachine().sendTaskFailure(token, error, cause),
      )
        .then(async (result) => {
          if (result.action !== 'failed') return;
          await store.events.append(exit.runId, 'note', `runner process exited (${exit.signal ?? `code ${exit.code}`}) without reporting: ${result.cause}`, { code: exit.code, signal: exit.signal });
        })
        .catch((error: unknown) => log.error('could not end the run of a lost runner', { runId: exit.runId, error: errorText(error) }));
    });

    const recovery = await recoverInterruptedRuns(
      { runs: store.runs, events: store.events, ledger: store.ledger, slots: store.slots, queue: store.queue, inbox: store.inbox, stopRunTasks: (runId) => runners.stopRun(runId) },
      log,
      config.repos.map((repo) => repo.name),
    );

    const routes: ApiRoute[] = routesFromTemplate(template).map((route) => ({
      routeKey: route.routeKey,
      functionName: route.functionId,
      load: async () => functions.handlerOf(route.entry) as unknown as ApiHandler,
    }));
    let ready = false;
    const operatorUid = process.getuid?.();
    const identifiable = operatorUid !== undefined && canIdentifyLoopbackPeers();
    if (!identifiable) log.warn('this system does not list TCP sockets with their owners (/proc/net/tcp): every loopback caller is taken for the operator');
    let port = 0;
    const webConsole = createLocalConsole({ config, forgeRoot: home.forge, apiUrl: () => `http://127.0.0.1:${port}`, port: () => port });
    const api = createApiServer({
      routes,
      identity: { userArn: options.requester },
      isReady: () => ready,
      forgeUrl: () => forge.url,
      log,
      outsideApi: webConsole,
      ...(options.model ? {} : { routeRefusal: (method: string, path: string) => (method === 'POST' && path === '/v1/runs' ? { statusCode: 422 as const, code: 'no_model', message: NO_MODEL_MESSAGE } : undefined) }),
      ...(identifiable ? { callerRefusal: operatorOnly(operatorUid) } : {}),
    });
    port = await listenAs('api', ports.api, options.port, () => listenOnLoopback(api, ports.api));
    cleanups.push(() => closeServer(api));
    const url = `http://127.0.0.1:${port}`;
    consoleUrl = url;
    // Built now so the first page load is quick and a broken console shows in the log at start.
    consoleAssets().catch((error: unknown) => log.error('the web console could not be built', { error: errorText(error) }));
    // The local forge delivers signed webhooks to the same route GitHub would call (docs/local-mode.md#the-github-loop-on-one-machine).
    const webhookRoute = routes.some((r) => r.routeKey === 'POST /v1/webhooks/github');
    if (webhookRoute && config.github.webhookSecret) forge.setWebhook(`${url}/v1/webhooks/github`, localWebhookSecret(home.secretsFile, config.github.webhookSecret));
    // Where `nightshift forge` finds the running forge.
    writeFileSync(join(home.forge, '.url'), `${forge.url}\n`);
    ready = true;
    if (!options.model) log.warn('no model is configured: the platform runs, and submissions are refused until one is', { reason: NO_MODEL_MESSAGE });
    log.info('local platform ready', { url, model: options.model ?? null, forge: forge.url, routes: routes.length, recovered: recovery.ended.length, egressProxy: egressProxy?.url ?? null });

    return {
      url,
      home,
      forgeUrl: forge.url,
      forge,
      model: options.model,
      recordDir: options.recordDir,
      config,
      store,
      runners,
      machine: executor,
      egressProxy,
      recovered: recovery.ended,
      stop: async () => {
        ready = false;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Who the agent's tools run as when the platform runs as root (CI, containers): the image's
 * `nightshift-tool` user when it exists, else `nobody`; never root. A non-root runner uses its own user.
 */
function localToolUser(log: LocalLog): string {
  if (process.getuid?.() !== 0) return 'nightshift-tool';
  const exists = (name: string) => spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0;
  if (exists('nightshift-tool')) return 'nightshift-tool';
  if (exists('nobody')) {
    log.warn('running as root without a nightshift-tool user: agent tools run as "nobody"');
    return 'nobody';
  }
  throw new Error('running as root, and neither a nightshift-tool nor a nobody user exists to run agent tools as');
}

/** The uid the tools run as: the tool user's as root, else the platform's own (runner/isolation/tool-identity.ts). */
function toolUidOf(toolUser: string): number {
  const self = process.getuid?.() ?? 0;
  if (self !== 0) return self;
  const id = spawnSync('id', ['-u', toolUser], { encoding: 'utf8' });
  const uid = Number(id.stdout.trim());
  if (id.status !== 0 || !Number.isInteger(uid)) throw new Error(`cannot find the uid of the tool user ${toolUser}`);
  return uid;
}

/** The webhook secret from the local secrets file; a random one is created there when it is missing. */
function localWebhookSecret(secretsFile: string, name: string): string {
  const secrets = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(secretsFile, 'utf8')));
  const existing = secrets[name];
  if (existing) return existing;
  const secret = randomBytes(32).toString('hex');
  writeFileSync(secretsFile, `${JSON.stringify({ ...secrets, [name]: secret }, null, 2)}\n`, { mode: 0o600 });
  return secret;
}
