import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { RUN_INDEX_STAGE_CONTEXT, runIndexStageFromContext } from './run-index-stages';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { NightshiftConfig } from '../core/config/schema';
import { AgentRuntime } from './constructs/agent-runtime';
import { Api } from './constructs/api';
import { BranchFacts } from './constructs/branch-facts';
import { GithubWebhook, WEBHOOK_ROUTE_PATH } from './constructs/github-webhook';
import { InboxNotifications } from './constructs/inbox-notifications';
import { Monitoring } from './constructs/monitoring';
import { Network } from './constructs/network';
import { Operations } from './constructs/operations';
import { Orchestrator } from './constructs/orchestrator';
import { Schedules } from './constructs/schedules';
import { State } from './constructs/state';
import { TokenBroker } from './constructs/token-broker';

export interface NightshiftStackProps extends StackProps {
  readonly config: NightshiftConfig;
  /** A prebuilt runner image; default: built from runner/Dockerfile at deploy. */
  readonly runnerImage?: ecs.ContainerImage;
}

/** The wiring diagram: one construct per concern, connected. What each does lives in its construct. */
export class NightshiftStack extends Stack {
  readonly network: Network;
  readonly state: State;
  readonly runtime: AgentRuntime;
  readonly tokenBroker: TokenBroker;
  readonly orchestrator: Orchestrator;
  readonly inboxNotifications: InboxNotifications;
  readonly api: Api;
  readonly branchFacts: BranchFacts;
  readonly schedules: Schedules;
  /** Present when config `github.webhookSecret` is set. */
  readonly githubWebhook: GithubWebhook | undefined;
  readonly operations: Operations;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: NightshiftStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = logs.RetentionDays.ONE_MONTH;

    this.network = new Network(this, 'Network', { maxAzs: config.network.maxAzs, logRetention, config });
    this.state = new State(this, 'State', {
      traceRetentionDays: 30,
      runIndexStage: runIndexStageFromContext(this.node.tryGetContext(RUN_INDEX_STAGE_CONTEXT)),
    });
    this.runtime = new AgentRuntime(this, 'AgentRuntime', {
      config,
      network: this.network,
      state: this.state,
      logRetention,
      ...(props.runnerImage ? { image: props.runnerImage } : {}),
    });
    this.tokenBroker = new TokenBroker(this, 'TokenBroker', { config, state: this.state, logRetention });
    this.tokenBroker.serveRunner(this.runtime);
    this.orchestrator = new Orchestrator(this, 'Orchestrator', { config, state: this.state, runtime: this.runtime, logRetention });
    // New inbox items, announced by the Pause function that creates them.
    this.inboxNotifications = new InboxNotifications(this, 'InboxNotifications', { config });
    // The functions that create inbox items announce them: Pause its items, Finalize and the backstop a run's pr_ready/failed item.
    for (const fn of [this.orchestrator.pauseFunction, this.orchestrator.finalizeFunction, this.orchestrator.backstopFunction])
      this.inboxNotifications.grantPublish(fn);
    this.branchFacts = new BranchFacts(this, 'BranchFacts', { config, logRetention });
    this.api = new Api(this, 'Api', {
      config,
      state: this.state,
      orchestrator: this.orchestrator,
      branchFacts: this.branchFacts,
      logRetention,
    });
    const webhookSecretName = config.github.webhookSecret;
    this.githubWebhook = webhookSecretName
      ? new GithubWebhook(this, 'GithubWebhook', {
          config,
          httpApi: this.api.httpApi,
          state: this.state,
          orchestrator: this.orchestrator,
          branchFacts: this.branchFacts,
          logRetention,
          webhookSecretName,
        })
      : undefined;
    // The webhook function posts a GitHub run's question on its issue or pull request, and keeps its
    // status comment true: an item resolved through the API, a move of the queue (Admit, Finalize and
    // the backstop take runs out of it).
    if (this.githubWebhook) {
      this.inboxNotifications.deliverThreadItemsTo(this.githubWebhook.function);
      const { admitFunction, finalizeFunction, backstopFunction } = this.orchestrator;
      for (const fn of [admitFunction, finalizeFunction, backstopFunction, this.api.resolveInboxItemFunction])
        this.inboxNotifications.grantStatusEvents(fn);
    }
    this.schedules = new Schedules(this, 'Schedules', { config, state: this.state, orchestrator: this.orchestrator, logRetention });
    this.operations = new Operations(this, 'Operations', { config, state: this.state, httpApi: this.api.httpApi, logRetention });
    // The per-minute queue sweep wakes queued runs (core/runs/queue-wake.ts).
    this.orchestrator.grantQueueWakeUp([this.operations.runGaugesFunction]);
    // The on-demand egress proxy: Admit starts it for the run it admits, the per-minute tick stops it once idle.
    if (config.network.proxy === 'on-demand') {
      this.network.egressProxy.grantScaling(this.orchestrator.admitFunction);
      this.network.egressProxy.grantScaling(this.operations.runGaugesFunction);
      this.state.grantProxyIdleClock(this.operations.runGaugesFunction);
    }
    // Last, so that it watches every function and dead-letter queue created above.
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      operations: this.operations,
      stateMachine: this.orchestrator.stateMachine,
      cluster: this.runtime.cluster,
      functions: this.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function),
      deadLetterQueues: [
        { name: 'backstop', queue: this.orchestrator.backstopDeadLetters },
        { name: 'schedules', queue: this.schedules.deadLetters },
      ],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the Nightshift HTTP API' });
    if (this.githubWebhook)
      new CfnOutput(this, 'GithubWebhookUrl', {
        value: `${this.api.url.replace(/\/$/, '')}${WEBHOOK_ROUTE_PATH}`,
        description: 'Payload URL of the GitHub App webhook (docs/github-app.md)',
      });
    new CfnOutput(this, 'StateMachineArn', { value: this.orchestrator.stateMachine.stateMachineArn, description: 'The run state machine' });
    new CfnOutput(this, 'RunsTableName', { value: this.state.runs.tableName });
    new CfnOutput(this, 'EventsTableName', { value: this.state.events.tableName });
    new CfnOutput(this, 'ControlTableName', { value: this.state.control.tableName });
    new CfnOutput(this, 'IdempotencyTableName', { value: this.state.idempotency.tableName });
    new CfnOutput(this, 'TracesBucketName', { value: this.state.traces.bucketName });
    new CfnOutput(this, 'ClusterArn', { value: this.runtime.cluster.clusterArn });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topicArn,
      description: 'Alarm notifications (config alarms.emails)',
    });
    new CfnOutput(this, 'InboxTopicArn', {
      value: this.inboxNotifications.topic.topicArn,
      description: 'New inbox items (config notifications.emails)',
    });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
