import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { MAX_PAUSES_PER_RUN } from '../../core/inbox/paused-run';
import { MAX_QUEUED_MINUTES } from '../../core/runs/admission';
import { MAX_AUTOMATIC_RESUMES, RUNNER_LOST_ERROR } from '../../core/runs/runner-stop';
import { RUNNER_CONTAINER_NAME, type AgentRuntime } from './agent-runtime';
import { deadLetterQueue } from './dead-letter-queue';
import { nightshiftFunction } from './lambda-defaults';
import { acknowledgeOnPrincipal, nagArnOf } from './nag';
import type { State } from './state';

/** State names of the run state machine; tests and local mode refer to them. */
export const RunStates = {
  admit: 'Admit',
  admitted: 'Admitted?',
  runRunner: 'Run the runner',
  paused: 'Paused?',
  waitForHuman: 'Wait for a human',
  pauseKind: 'For a human?',
  resumeWithoutHuman: 'Resume without a human',
  resume: 'Resume',
  finalize: 'Finalize',
  done: 'Done',
  finalizeFailed: 'Finalize failed',
} as const;

/**
 * A queued run's Admit state waits on its task token until a released slot wakes it; after this long
 * without a wake-up it runs Admit again (one state transition). It is the last line of defence behind
 * the wake-ups and the per-minute queue sweep, so it is long: a run costs at most 10 transitions for
 * any wait up to MAX_QUEUED_MINUTES (two re-checks), where a 60-120 s re-check would make a 10-minute
 * wait cost 13-16 (docs/architecture.md#admission-and-the-queue).
 */
export const QUEUE_RECHECK_SECONDS = 4 * 60 * 60;

/** Execution statuses the backstop rule reacts to: the ones that skipped the Finalize state. */
export const BACKSTOP_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface OrchestratorProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  readonly runtime: AgentRuntime;
  readonly logRetention: logs.RetentionDays;
}

/** A Lambda task whose call failed in the Lambda service (not in the function): tried again, as AWS advises for Lambda tasks. */
const LAMBDA_SERVICE_RETRY: sfn.RetryProps = {
  errors: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 4,
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * The run state machine (Standard, JSONPath, one execution per run named by its id):
 * admit under the concurrency slots (a queued run waits on a task token, holding no compute, until a
 * released slot wakes it) → run the runner with
 * ecs:runTask.waitForTaskToken (wall clock and heartbeat from the execution input) → Finalize, which
 * every path reaches. An EventBridge rule runs the same idempotent clean-up (the backstop) for the
 * executions that could not reach Finalize: stopped from the console, timed out, failed.
 */

export class Orchestrator extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly admitFunction: nodejs.NodejsFunction;
  readonly finalizeFunction: nodejs.NodejsFunction;
  readonly backstopFunction: nodejs.NodejsFunction;
  readonly pauseFunction: nodejs.NodejsFunction;
  /** Re-queues a run whose task was interrupted or lost after a checkpoint, without a human. */
  readonly automaticResumeFunction: nodejs.NodejsFunction;
  readonly backstopRule: events.Rule;
  /** Backstop events that could not be handled after every retry. */
  readonly backstopDeadLetters: sqs.Queue;
  /** Ends a run whose runner task stopped without reporting, from ECS's Task State Change event. */
  readonly taskStoppedFunction: nodejs.NodejsFunction;
  readonly taskStoppedRule: events.Rule;

  constructor(scope: Construct, id: string, props: OrchestratorProps) {
    super(scope, id);
    const { config, state, runtime, logRetention } = props;
    const environment = { ...state.tableEnvironment, CLUSTER_ARN: runtime.cluster.clusterArn };

    this.admitFunction = nightshiftFunction(this, 'AdmitFunction', {
      entry: 'lambdas/orchestrator/admit.ts',
      description: 'Admits a run under the concurrency slots or keeps it queued',
      config,
      logRetention,
      environment,
    });
    this.finalizeFunction = nightshiftFunction(this, 'FinalizeFunction', {
      entry: 'lambdas/orchestrator/finalize.ts',
      description: 'Ends a run: stops its task, frees its slots, settles its budget, writes its terminal status',
      config,
      logRetention,
      environment,
    });
    this.backstopFunction = nightshiftFunction(this, 'BackstopFunction', {
      entry: 'lambdas/orchestrator/backstop.ts',
      description: 'Finalizes runs whose execution ended without reaching Finalize',
      config,
      logRetention,
      environment,
    });
    this.pauseFunction = nightshiftFunction(this, 'PauseFunction', {
      entry: 'lambdas/orchestrator/pause.ts',
      description: 'Pauses a run for a human: records the inbox item with the task token, stops the task, frees the slots',
      config,
      logRetention,
      environment,
    });
    this.automaticResumeFunction = nightshiftFunction(this, 'AutomaticResumeFunction', {
      entry: 'lambdas/orchestrator/automatic-resume.ts',
      description:
        'Resumes an interrupted run (or one lost after a checkpoint) without a human: stops the task, frees the slots, re-queues it',
      config,
      logRetention,
      environment,
    });
    for (const fn of [this.admitFunction, this.finalizeFunction, this.backstopFunction, this.pauseFunction, this.automaticResumeFunction])
      state.grantRunStore(fn);
    // The queue: Admit stores a waiting run's token with its entry; whatever frees a slot wakes the next run.
    for (const fn of [this.admitFunction, this.finalizeFunction, this.backstopFunction, this.pauseFunction]) state.grantRunQueue(fn);
    // It creates no inbox item: the run store and stopping the run's task are all it needs.
    runtime.grantStopRunTasks(this.automaticResumeFunction);
    // The review backlog (concurrency.maxOpenPrsPerRequester): Admit counts the requester's open pr_ready items.
    if (config.concurrency.maxOpenPrsPerRequester !== undefined) state.grantInboxBacklogRead(this.admitFunction);
    for (const fn of [this.finalizeFunction, this.backstopFunction, this.pauseFunction]) {
      runtime.grantStopRunTasks(fn);
      state.grantInboxWrite(fn);
    }

    const definition = this.definition(runtime);
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'RunStateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'One Nightshift run: admit, run the runner (pausing for a human and resuming as often as it asks), finalize',
      // A safety net above every bound the definition enforces itself: each task segment (queue limit,
      // maxMinutes) and each pause (answerHours), at most MAX_PAUSES_PER_RUN of them and at most
      // MAX_AUTOMATIC_RESUMES + 1 automatic resumes (the last on regular Fargate), plus retries.
      timeout: Duration.minutes(
        (MAX_PAUSES_PER_RUN + MAX_AUTOMATIC_RESUMES + 2) * (MAX_QUEUED_MINUTES + config.timeouts.maxMinutes) +
          MAX_PAUSES_PER_RUN * config.timeouts.answerHours * 60 +
          60,
      ),
      tracingEnabled: true,
      // Execution data would include the task token (a secret): log events, never data.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.grantRunTask(runtime);
    this.stateMachine.grantTaskResponse(runtime.taskRole);
    this.grantQueueWakeUp([this.admitFunction, this.finalizeFunction, this.backstopFunction, this.pauseFunction]);
    acknowledgeOnPrincipal(
      this.stateMachine,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs vended delivery (CreateLogDelivery and friends) have no resource-level permissions.',
      },
      ...[this.admitFunction, this.finalizeFunction, this.pauseFunction, this.automaticResumeFunction].map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::${nagArnOf(fn)}:*]`,
        reason: 'Invoking a Lambda task covers the function\'s versions and aliases (function ARN plus ":*"); nothing else.',
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/${runtime.taskDefinition.family}:*]`,
        reason:
          'Any revision of the runner task family, so executions started before a deploy can still run; RunTask is pinned to the runner cluster.',
      },
    );

    this.backstopDeadLetters = deadLetterQueue(
      this,
      'BackstopDeadLetters',
      'This queue is itself the dead-letter queue of the backstop rule and function.',
    );
    this.backstopFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new lambdaDestinations.SqsDestination(this.backstopDeadLetters),
    });
    this.backstopRule = new events.Rule(this, 'BackstopRule', {
      description: 'Runs the idempotent run clean-up for executions that ended without reaching Finalize',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...BACKSTOP_STATUSES], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [
        new targets.LambdaFunction(this.backstopFunction, {
          deadLetterQueue: this.backstopDeadLetters,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    // A runner task that stops without reporting (crash, out of memory, image pull failure) fails its
    // waiting task within seconds of ECS's event; the heartbeat window stays the backstop.
    this.taskStoppedFunction = nightshiftFunction(this, 'TaskStoppedFunction', {
      entry: 'lambdas/orchestrator/task-stopped.ts',
      description: 'Fails the waiting task of a run whose runner task stopped without reporting',
      config,
      logRetention,
      environment: { CLUSTER_ARN: runtime.cluster.clusterArn },
    });
    // SendTaskFailure only: it cannot report a success, heartbeat a task, stop a task, or touch any table.
    iam.Grant.addToPrincipal({
      grantee: this.taskStoppedFunction,
      actions: ['states:SendTaskFailure'],
      resourceArns: [this.stateMachine.stateMachineArn],
    });
    // Reads a stopped task's overrides when its event does not carry them.
    runtime.grantDescribeRunTasks(this.taskStoppedFunction);
    this.taskStoppedFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new lambdaDestinations.SqsDestination(this.backstopDeadLetters),
    });
    this.taskStoppedRule = new events.Rule(this, 'TaskStoppedRule', {
      description: 'Runner tasks of this cluster that stopped: ends their run if the runner did not report',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        // RunTask's default group is the task family: this cluster's runner tasks, nothing else.
        detail: { clusterArn: [runtime.cluster.clusterArn], lastStatus: ['STOPPED'], group: [`family:${runtime.taskDefinition.family}`] },
      },
      targets: [
        new targets.LambdaFunction(this.taskStoppedFunction, {
          deadLetterQueue: this.backstopDeadLetters,
          retryAttempts: 8,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  /**
   * SendTaskSuccess on this state machine's tasks, and nothing else: Admit completes its own waiting
   * state, and whatever frees a slot completes a queued run's. A policy of its own, not the functions'
   * default policy: the state machine refers to these functions, and a function waits for its default
   * policy, so granting through it would be a dependency cycle.
   */
  grantQueueWakeUp(functions: nodejs.NodejsFunction[]): void {
    for (const fn of functions) {
      new iam.Policy(this, `${fn.node.id}QueueWakeUp`, {
        roles: [fn.role!],
        statements: [new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachine.stateMachineArn] })],
      });
    }
  }

  /** Submit: StartExecution (name = run id). */
  grantStartExecution(grantee: iam.IGrantable): void {
    this.stateMachine.grantStartExecution(grantee);
  }

  /** Cancel: StopExecution of a run's execution. */
  grantStopExecution(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:StopExecution'],
      resourceArns: [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${this.stateMachine.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    acknowledgeOnPrincipal(grantee, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${nagArnOf(this.stateMachine, 'Name')}:*]`,
      reason: 'Executions are named by run ids created at submit time; the grant covers only executions of the run state machine.',
    });
  }

  private definition(runtime: AgentRuntime): sfn.IChainable {
    const lambdaTask = (id: string, fn: nodejs.NodejsFunction, props: Partial<tasks.LambdaInvokeProps>) =>
      new tasks.LambdaInvoke(this, id, {
        stateName: id,
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(90)),
        ...props,
      });

    const done = new sfn.Succeed(this, RunStates.done, {
      stateName: RunStates.done,
      comment: 'The run is terminal; its status and reason are in the runs table.',
    });
    const finalizeFailed = new sfn.Fail(this, RunStates.finalizeFailed, {
      stateName: RunStates.finalizeFailed,
      error: 'Nightshift.FinalizeFailed',
      cause: 'Finalize kept failing; the backstop rule retries the clean-up',
    });

    const finalize = lambdaTask(RunStates.finalize, this.finalizeFunction, {
      comment: 'Every path ends here: stop the task, free the slots, settle the budget, write the terminal status.',
      resultPath: '$.finalized',
    });
    finalize.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    finalize.addCatch(finalizeFailed, { errors: ['States.ALL'], resultPath: '$.finalizeFailure' });
    finalize.next(done);

    // Admit decides at once (SendTaskSuccess of its own token) or leaves the run waiting in the queue
    // with this token, holding no compute, until a released slot wakes it (core/runs/queue-wake.ts).
    const admit = lambdaTask(RunStates.admit, this.admitFunction, {
      comment: 'Take the slots (global, per repo, per requester), or wait in the queue on this token until a released slot wakes the run.',
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payloadResponseOnly: false,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.stringAt('$.runId'),
        repo: sfn.JsonPath.stringAt('$.repo'),
        capacityProvider: sfn.JsonPath.stringAt('$.capacityProvider'),
        token: sfn.JsonPath.taskToken,
      }),
      taskTimeout: sfn.Timeout.duration(Duration.seconds(QUEUE_RECHECK_SECONDS)),
      resultPath: '$.admission',
    });
    // States.TaskFailed matches every error but States.Timeout: the function or the Lambda service failed.
    admit.addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL,
    });
    // No wake-up within the re-check time: ask again (the run keeps its place in the queue).
    admit.addCatch(admit, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
    admit.addCatch(finalize, { errors: ['States.ALL'], resultPath: '$.admissionFailure' });

    // A CustomState's construct id is its state name.
    const runRunner = new sfn.CustomState(this, RunStates.runRunner, {
      stateJson: {
        Type: 'Task',
        Comment: 'Start the runner task; it reports back with SendTaskSuccess/Failure and heartbeats.',
        Resource: `arn:${Stack.of(this).partition}:states:::ecs:runTask.waitForTaskToken`,
        Parameters: {
          Cluster: runtime.cluster.clusterArn,
          TaskDefinition: runtime.taskDefinition.taskDefinitionArn,
          // Admit's choice: the execution's (FARGATE_SPOT for repos with `spot`), or regular Fargate once automatic resumes moved the run.
          CapacityProviderStrategy: [{ 'CapacityProvider.$': '$.admission.capacityProvider', Weight: 1 }],
          PlatformVersion: 'LATEST',
          'StartedBy.$': '$.runId',
          NetworkConfiguration: {
            AwsvpcConfiguration: {
              Subnets: runtime.network.vpc.selectSubnets(runtime.network.runnerSubnets).subnetIds,
              SecurityGroups: [runtime.network.runnerSecurityGroup.securityGroupId],
              AssignPublicIp: 'DISABLED',
            },
          },
          Overrides: {
            ContainerOverrides: [
              {
                Name: RUNNER_CONTAINER_NAME,
                Environment: [
                  { Name: 'RUN_ID', 'Value.$': '$.runId' },
                  { Name: 'TASK_TOKEN', 'Value.$': '$$.Task.Token' },
                  // The run key Admit issued for this launch: the task's identity at the token broker.
                  { Name: 'RUN_KEY', 'Value.$': '$.admission.runKey' },
                ],
              },
            ],
          },
        },
        TimeoutSecondsPath: '$.timeoutSeconds',
        HeartbeatSecondsPath: '$.heartbeatSeconds',
        ResultPath: '$.result',
      },
    });
    // RunTask itself failing (no capacity, throttling) started nothing, so trying again is safe.
    runRunner.addRetry({
      errors: ['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException'],
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 3,
      jitterStrategy: sfn.JitterType.FULL,
    });
    // Resume without a human (docs/inbox.md#resume-without-a-human): a runner that checkpointed on SIGTERM reports an `interrupted`
    // pause; a task lost without reporting (ECS's Task State Change: Nightshift.RunnerLost) resumes
    // from the run's last checkpoint. Both are re-queued at once, under the cap, or refused to Finalize.
    const resumeWithoutHuman = lambdaTask(RunStates.resumeWithoutHuman, this.automaticResumeFunction, {
      comment:
        'Interrupted, or lost after a checkpoint: stop the task, free the slots, re-queue the run on the same branch (no inbox item).',
      // The whole state, as Finalize gets it: the report ($.result) or the failure ($.failure), whichever there is.
      resultPath: '$.automaticResume',
    });
    resumeWithoutHuman.addRetry(LAMBDA_SERVICE_RETRY);
    resumeWithoutHuman.addCatch(finalize, { errors: ['States.ALL'], resultPath: '$.resumeFailure' });
    runRunner.addCatch(resumeWithoutHuman, { errors: [RUNNER_LOST_ERROR], resultPath: '$.failure' });
    runRunner.addCatch(finalize, { errors: ['States.ALL'], resultPath: '$.failure' });

    // A pause (docs/inbox.md): the runner reported {pause}; the Pause task records the inbox item with this
    // state's token and frees the slots; the execution waits (no compute, no slot) until an answer
    // completes the token, or answerSeconds pass (States.Timeout → Finalize: TIMED_OUT, no_answer).
    const waitForHuman = lambdaTask(RunStates.waitForHuman, this.pauseFunction, {
      comment: 'Record the inbox item with this token, stop the task, free the slots; wait for the answer.',
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payloadResponseOnly: false,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.stringAt('$.runId'),
        token: sfn.JsonPath.taskToken,
        report: sfn.JsonPath.objectAt('$.result'),
      }),
      taskTimeout: sfn.Timeout.at('$.answerSeconds'),
      resultPath: '$.answer',
    });
    waitForHuman.addRetry(LAMBDA_SERVICE_RETRY);
    waitForHuman.addCatch(finalize, { errors: ['States.ALL'], resultPath: '$.pauseFailure' });
    // Answered: the run is QUEUED again; back to the execution input and through Admit, like a new run.
    const resume = new sfn.Pass(this, RunStates.resume, {
      stateName: RunStates.resume,
      comment: 'Answered: start again from the execution input (the answer is on the run record).',
      parameters: { 'execution.$': '$$.Execution.Input' },
      outputPath: '$.execution',
    });
    waitForHuman.next(resume);
    resumeWithoutHuman.next(resume);
    const pauseKind = new sfn.Choice(this, RunStates.pauseKind, { stateName: RunStates.pauseKind })
      .when(sfn.Condition.stringEquals('$.result.pause.reason', 'interrupted'), resumeWithoutHuman)
      .otherwise(waitForHuman);
    const paused = new sfn.Choice(this, RunStates.paused, { stateName: RunStates.paused })
      .when(sfn.Condition.isPresent('$.result.pause'), pauseKind)
      .otherwise(finalize);
    runRunner.next(paused);

    const admitted = new sfn.Choice(this, RunStates.admitted, { stateName: RunStates.admitted })
      .when(sfn.Condition.stringEquals('$.admission.decision', 'admitted'), runRunner)
      // Woken by a released slot: admission again, under the caps (a lost race waits again, in the same place).
      .when(sfn.Condition.stringEquals('$.admission.decision', 'woken'), admit)
      .otherwise(finalize);

    resume.next(admit);
    return admit.next(admitted);
  }

  /** What ecs:runTask.waitForTaskToken needs: run this task family in this cluster, pass its two roles. */
  private grantRunTask(runtime: AgentRuntime): void {
    const stack = Stack.of(this);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        // Any revision of the runner family, so executions started before a deploy still run.
        resources: [stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${runtime.taskDefinition.family}:*` })],
        conditions: { ArnEquals: { 'ecs:cluster': runtime.cluster.clusterArn } },
      }),
    );
    const roles = [runtime.taskDefinition.taskRole.roleArn, runtime.taskDefinition.obtainExecutionRole().roleArn];
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: roles,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }
}
