import { ListTasksCommand, StopTaskCommand, type ECSClient } from '@aws-sdk/client-ecs';

/**
 * A run's Fargate tasks, found by `StartedBy` = run id (the state machine sets it). Stopping is
 * idempotent: a task that already stopped is simply no longer listed as RUNNING.
 */
export function ecsRunTasks(ecs: ECSClient, cluster: string) {
  return {
    async stopRunTasks(runId: string): Promise<void> {
      const taskArns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(
          new ListTasksCommand({ cluster, startedBy: runId, desiredStatus: 'RUNNING', ...(nextToken ? { nextToken } : {}) }),
        );
        taskArns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      for (const task of taskArns) {
        await ecs.send(new StopTaskCommand({ cluster, task, reason: `Nightshift run ${runId} finalized` }));
      }
    },
  };
}
