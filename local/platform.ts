import '../core/polyfills';
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { NO_MODEL_MESSAGE } from './model-choice';
import { isForPeople } from '../core/inbox/inbox-notification';
import { loadConfig } from '../core/config/load';
import { setRuntimeConfig } from '../core/config/runtime';
import type { NightshiftConfig } from '../core/config/schema';
import { RUNNER_STOP_TIMEOUT_SECONDS } from '../core/runs/stop-grace';
import { documentClientFor } from '../adapters/dynamodb/client';
import { createStore, type Store } from '../adapters/dynamodb/index';
import { createThreadStore } from '../adapters/dynamodb/threads';
import { queueHoldChecker, queueHoldDepsOf } from '../core/runs/queue-holds';
import type { ApiRoute, ApiHandler } from './api-gateway';
import { routesFromTemplate } from './api-routes';
import { createApiServer, errorText } from './api-server';
import { consoleAssets } from '../console/server/console-assets';
import { createAwsEndpoints } from './aws-endpoints';
import { createLocalConsole } from './console-server';
import { startLocalDynamo, type LocalDynamo } from './dynamo-server';
import { findSquid, startEgressProxy, type LocalEgressProxy } from './egress-proxy';
import { LOCAL_PROXY_SERVICE, LocalProxyService } from './egress-proxy-service';
import { stopIdleProxy } from '../core/egress/proxy-demand';
import { PROXY_SERVICE_ENV } from '../adapters/ecs/proxy-service';
import { createProxyIdleClock } from '../adapters/dynamodb/proxy-idle-clock';
import { startForge, type ForgeServer } from './forge';
import { assertHomeIsPrivate, ensureHome, secureSecretsFile, type NightshiftHome } from './home';
import { closeServer, listenOnLoopback } from './http-listen';
import { canIdentifyLoopbackPeers, operatorOnly } from './loopback-peer';
import { withLocalOperator } from './operator';
import type { LocalPlatformOptions } from './platform-options';
import { assertPortsFree, listenAs, localPorts } from './ports';
import { recoverLocalRuns } from './recovery';
import { RunnerProcesses } from './runner-processes';
import { LocalRunnerTasks, RUN_TASK_RESOURCE, runnerCommand } from './runner-tasks';
import { reapToolLeftovers } from './tool-leftovers';
import { localToolUser, toolUidOf } from './tool-user';
import { extractStateMachine, LocalStateMachine } from './state-machine';
import { synthesizedTemplate } from './synthesized-stack';
import { exposeToHandlers, runnerEnvironment, serviceEnvironment } from './service-environment';
import { newMessageId } from './sns-topics';
import { TemplateFunctions } from './template-functions';
import { capsOf } from '../core/runs/caps';
import { QUEUE_SWEEP_MS, sweepQueue } from './queue-sweep';
import { localWebhookSecret } from './webhook-secret';

/**
 * Local mode (docs/local-mode.md): the whole platform on one machine. The same handlers behind a loopback API
 * Gateway stand-in, dynalite for DynamoDB, the state machine definition from the synthesized stack run
 * by the offline executor, the runner as a child process per run, the local forge as GitHub, squid as
 * the egress proxy when installed. The handlers and the runner keep their AWS code paths: their SDK
 * clients are pointed at loopback endpoints with AWS_ENDPOINT_URL_<SERVICE> (local/service-environment.ts);
 * the template's functions are served from their modules by local/template-functions.ts. This module
 * keeps the start-up order; what it starts comes from the modules it names (the options from the
 * environment: local/platform-options.ts; the runner tasks: local/runner-tasks.ts).
 */

/** The repository root: handler entries and the runner are resolved from it. */
export const repoRoot = resolve(__dirname, '..');

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
  /** With `network.proxy: "on-demand"` and squid installed: the proxy as the service Admit and the sweep scale. */
  proxyService?: LocalProxyService;
  /** Local mode's loopback AWS endpoints (Step Functions, Lambda, ECS, SNS). */
  awsEndpointsUrl: string;
  /** Runs ended by restart recovery at this start. */
  recovered: string[];
  stop(): Promise<void>;
}

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
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => log.error('shutdown step failed', { error: errorText(error) }));
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
    runners.reapOrphans(() =>
      readdirSync(home.logs)
        .filter((f) => f.endsWith('.runner.pid'))
        .map((f) => join(home.logs, f)),
    );
    // Their tool commands run in process groups of their own, which the runners' groups do not reach.
    reapToolLeftovers({ workDir: home.work, toolUid: toolUidOf(toolUser) }, log);
    cleanups.push(() => runners.stopAll());

    const dynamo: LocalDynamo = await listenAs('dynamo', ports.dynamo, options.port, () =>
      startLocalDynamo({ dataDir: home.data, port: ports.dynamo, ...(options.meter ? { meter: options.meter } : {}) }),
    );
    cleanups.push(() => dynamo.stop());
    const doc = documentClientFor(dynamo.client);
    const store = createStore(doc, dynamo.names);

    // Pull request links open the web console's PR view, on the API's port (known once it listens).
    let consoleUrl: string | undefined;
    const forge: ForgeServer = await listenAs('forge', ports.forge, options.port, () =>
      startForge({ root: home.forge, port: ports.forge, webUrl: () => consoleUrl }),
    );
    cleanups.push(() => forge.stop());

    const egressProxy =
      options.egressProxy === false
        ? undefined
        : await startEgressProxy({
            config,
            dir: join(home.root, 'egress'),
            log,
            toolUid: toolUidOf(toolUser),
            ...(ports.proxy !== undefined ? { basePort: ports.proxy } : {}),
          });
    // On demand, the proxy is a service Admit scales through local mode's ECS endpoint and the sweep stops once idle.
    const proxyService =
      egressProxy && config.network.proxy === 'on-demand'
        ? new LocalProxyService(
            egressProxy,
            {
              config,
              dir: join(home.root, 'egress'),
              log,
              toolUid: toolUidOf(toolUser),
              basePort: Number(new URL(egressProxy.url).port),
              runnerPassword: egressProxy.runnerPassword,
            },
            log,
          )
        : undefined;
    if (proxyService) cleanups.push(() => proxyService.stop());
    else if (egressProxy) cleanups.push(() => egressProxy.stop());
    else log.warn('squid is not installed: runner tools will run without the egress proxy, and each run says so in its events');

    const { template, cached } = await synthesizedTemplate({ repoRoot, config, cacheDir: options.templateCacheDir ?? home.cache, log });
    log.info('stack template ready', { cached });

    if (options.recordDir) mkdirSync(options.recordDir, { recursive: true, mode: 0o700 });

    // The AWS endpoints are created first (their port goes into the environment), answered once the executor exists.
    let machine: LocalStateMachine | undefined;
    const functions = new TemplateFunctions({ repoRoot, log, ...(options.meter ? { meter: options.meter } : {}) });
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
        ...(proxyService ? { proxyService: { ...LOCAL_PROXY_SERVICE, port: proxyService } } : {}),
      },
      functions: functions.byName,
      sns: {
        publish: async (message) => {
          const messageId = newMessageId();
          options.meter?.snsPublish();
          // The outbox holds what people would be told (the inbox topic's machine events go to the webhook function only).
          if (isForPeople(message.attributes))
            appendFileSync(outbox, `${JSON.stringify({ at: new Date().toISOString(), messageId, ...message })}\n`, { mode: 0o600 });
          log.info('notification published (local outbox)', {
            topicArn: message.topicArn,
            subject: message.subject,
            attributes: message.attributes,
            outbox,
          });
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

    const serviceEnv = serviceEnvironment({
      dynamo,
      awsEndpointsUrl: endpointUrl,
      configFile: options.configFile,
      home,
      githubApiUrl: forge.url,
    });
    const extracted = extractStateMachine(template);
    exposeToHandlers(serviceEnv, { extracted, template, home, handlerLogLevel: options.handlerLogLevel ?? 'INFO' });
    // Admit names the proxy's service only when it is on demand (as the stack sets it on AWS).
    for (const [key, name] of Object.entries(PROXY_SERVICE_ENV) as [keyof typeof PROXY_SERVICE_ENV, string][]) {
      if (proxyService) process.env[name] = LOCAL_PROXY_SERVICE[key];
      else delete process.env[name];
    }
    const handlers = functions.serve(extracted, template);

    const runnerTasks = new LocalRunnerTasks({
      runners,
      proxyPassword: egressProxy?.runnerPassword,
      secretsFile: home.secretsFile,
      sendTaskFailure: (token, error, cause) => requireMachine().sendTaskFailure(token, error, cause),
      events: store.events,
      log,
    });

    machine = new LocalStateMachine(extracted, {
      handlers,
      integrations: { [RUN_TASK_RESOURCE]: runnerTasks.runTask },
      log: (message, fields) => log.info(message, fields),
    });
    const executor = machine;
    cleanups.push(() => executor.close());
    const proxyIdle = proxyService && {
      proxy: proxyService,
      clock: createProxyIdleClock(doc, dynamo.names.control),
      idleMinutes: config.network.proxyIdleMinutes,
    };
    // The queue sweep the run gauges make every minute on AWS: wakes what a lost wake-up left waiting;
    // then, with the proxy on demand, the gauges' idle stop.
    const sweep = setInterval(
      () =>
        void sweepQueue({
          queue: store.queue,
          slots: store.slots,
          caps: capsOf(config),
          machine: executor,
          liftedHolds: queueHoldChecker(queueHoldDepsOf({ ...store, threads: createThreadStore(doc, dynamo.names.control) }, config)),
        })
          .then(() => (proxyIdle ? stopIdleProxy({ ...proxyIdle, activeRuns: () => store.slots.holders(), now: new Date() }) : undefined))
          .catch((error: unknown) => log.warn('queue sweep failed', { error: errorText(error) })),
      QUEUE_SWEEP_MS,
    );
    sweep.unref();
    cleanups.push(async () => clearInterval(sweep));

    runners.setBaseEnv(
      runnerEnvironment(serviceEnv, { extracted, home, model: options.model, recordDir: options.recordDir, toolUser, egressProxy }),
    );

    const recovery = await recoverLocalRuns(
      store,
      { doc, runsTable: dynamo.names.runs },
      (runId) => runners.stopRun(runId),
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
    if (!identifiable)
      log.warn('this system does not list TCP sockets with their owners (/proc/net/tcp): every loopback caller is taken for the operator');
    let port = 0;
    const webConsole = createLocalConsole({ config, forgeRoot: home.forge, apiUrl: () => `http://127.0.0.1:${port}`, port: () => port });
    const api = createApiServer({
      routes,
      identity: { userArn: options.requester },
      isReady: () => ready,
      forgeUrl: () => forge.url,
      log,
      outsideApi: webConsole,
      ...(options.model
        ? {}
        : {
            routeRefusal: (method: string, path: string) =>
              method === 'POST' && path === '/v1/runs'
                ? { statusCode: 422 as const, code: 'no_model', message: NO_MODEL_MESSAGE }
                : undefined,
          }),
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
    if (webhookRoute && config.github.webhookSecret)
      forge.setWebhook(`${url}/v1/webhooks/github`, localWebhookSecret(home.secretsFile, config.github.webhookSecret));
    // Where `nightshift forge` finds the running forge.
    writeFileSync(join(home.forge, '.url'), `${forge.url}\n`);
    ready = true;
    if (!options.model)
      log.warn('no model is configured: the platform runs, and submissions are refused until one is', { reason: NO_MODEL_MESSAGE });
    log.info('local platform ready', {
      url,
      model: options.model ?? null,
      forge: forge.url,
      routes: routes.length,
      recovered: recovery.ended.length,
      egressProxy: egressProxy?.url ?? null,
    });

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
      ...(proxyService ? { proxyService } : {}),
      awsEndpointsUrl: endpointUrl,
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
