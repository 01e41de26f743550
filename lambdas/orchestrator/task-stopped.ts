import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SendTaskFailureCommand, SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { requiredEnv } from '../../core/env';
import { endLostRunner, RUNNER_CONTAINER_NAME, type LostRunnerAction, type SendTaskFailure } from '../../core/runs/runner-stop';
import { RunId } from '../../core/runs/schemas';
import { orchestratorLogger } from './orchestrator-logger';

/**
 * The EventBridge "ECS Task State Change" event, as far as this handler reads it. Its `detail` is the
 * ECS Task object (DescribeTasks), with ISO timestamps; unknown fields are kept out of the way.
 */
export const TaskStateChange = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  detail: z
    .object({
      clusterArn: z.string(),
      taskArn: z.string(),
      lastStatus: z.string(),
      startedBy: z.string().optional(),
      stopCode: z.string().optional(),
      stoppedReason: z.string().optional(),
      containers: z
        .array(z.object({ name: z.string(), exitCode: z.number().int().optional(), reason: z.string().optional() }).passthrough())
        .default([]),
      overrides: z
        .object({
          containerOverrides: z
            .array(
              z
                .object({
                  name: z.string(),
                  environment: z.array(z.object({ name: z.string(), value: z.string() }).passthrough()).optional(),
                })
                .passthrough(),
            )
            .default([]),
        })
        .passthrough()
        .optional(),
    })
    .passthrough(),
});
export type TaskStateChange = z.infer<typeof TaskStateChange>;

export interface TaskStoppedDeps {
  /** The runner cluster: events of any other cluster are ignored, whatever the rule matched. */
  clusterArn: string;
  sendTaskFailure: SendTaskFailure;
  /** The runner container's TASK_TOKEN override, asked of ECS (DescribeTasks) when the event does not carry it. */
  describeTaskToken(taskArn: string): Promise<string | undefined>;
}

/** The runner container's TASK_TOKEN in a task's overrides (the event's detail, or DescribeTasks' task). */
function taskTokenOf(
  overrides: { containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[] } | undefined,
): string | undefined {
  return overrides?.containerOverrides?.find((o) => o.name === RUNNER_CONTAINER_NAME)?.environment?.find((e) => e.name === 'TASK_TOKEN')
    ?.value;
}

export type TaskStoppedOutcome = { runId: string | null; taskArn: string } & (LostRunnerAction | { action: 'ignored'; why: string });

/**
 * A runner task stopped (crash, out of memory, image pull failure, a runner that cannot start): its
 * run ends now, from ECS's event, instead of when the heartbeat window passes. The waiting task is
 * failed with the stop reason in words (core/runs/runner-stop.ts); the heartbeat stays the backstop.
 * It reads no table: Finalize, reached through the state machine's Catch, does the clean-up.
 */
export function createTaskStoppedHandler(deps: () => TaskStoppedDeps) {
  return async function handler(event: unknown): Promise<TaskStoppedOutcome> {
    const { detail } = TaskStateChange.parse(event);
    const d = deps();
    const base = { taskArn: detail.taskArn };
    if (detail.lastStatus !== 'STOPPED') return { ...base, runId: null, action: 'ignored', why: `the task is ${detail.lastStatus}` };
    if (detail.clusterArn !== d.clusterArn) return { ...base, runId: null, action: 'ignored', why: 'a task of another cluster' };
    const runId = RunId.safeParse(detail.startedBy);
    if (!runId.success) return { ...base, runId: null, action: 'ignored', why: 'a task not started for a run' };
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: runId.data } });
    const container = detail.containers.find((c) => c.name === RUNNER_CONTAINER_NAME);
    const token = taskTokenOf(detail.overrides) ?? (await d.describeTaskToken(detail.taskArn));
    if (!token) {
      // Nothing to fail the task with: the heartbeat window ends the run.
      logger.error('runner task stopped, but neither its event nor ECS has its task token', {
        taskArn: detail.taskArn,
        stopCode: detail.stopCode,
      });
      return { ...base, runId: runId.data, action: 'ignored', why: 'no task token in the event or from ECS' };
    }
    const result = await endLostRunner(
      {
        stopCode: detail.stopCode ?? null,
        stoppedReason: detail.stoppedReason ?? null,
        exitCode: container?.exitCode ?? null,
        containerReason: container?.reason ?? null,
        lastErrorLines: [],
      },
      token,
      d.sendTaskFailure,
    );
    // Logged without the token.
    logger.info('runner task stopped', { taskArn: detail.taskArn, stopCode: detail.stopCode, exitCode: container?.exitCode, ...result });
    return { ...base, runId: runId.data, ...result };
  };
}

let deps: TaskStoppedDeps | undefined;
function depsFromEnv(): TaskStoppedDeps {
  const sfn = new SFNClient({});
  const ecs = new ECSClient({});
  const clusterArn = requiredEnv('CLUSTER_ARN');
  return {
    clusterArn,
    sendTaskFailure: async (taskToken, error, cause) => void (await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }))),
    describeTaskToken: async (taskArn) => {
      const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn] }));
      return taskTokenOf(tasks?.[0]?.overrides);
    },
  };
}

export const handler = createTaskStoppedHandler(() => (deps ??= depsFromEnv()));
