import * as z from 'zod';
import { bundledFile } from '../bin/bundles';
import { RunId } from '../core/runs/schemas';
import type { SendTaskFailure } from '../core/runs/runner-stop';
import type { RunEventLog } from '../core/store/ports';
import { errorText } from './api-server';
import type { LocalLog } from './local-log';
import { failLostLocalRunner, localSecretValues } from './runner-loss';
import type { RunnerProcesses } from './runner-processes';
import type { IntegrationCall } from './state-machine';

/** The state machine's runner task integration, served locally by a runner process. */
export const RUN_TASK_RESOURCE = 'arn:aws:states:::ecs:runTask.waitForTaskToken';

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
        .array(
          z.object({ Name: z.string(), Environment: z.array(z.object({ Name: z.string(), Value: z.string() })).default([]) }).passthrough(),
        )
        .min(1),
    }),
  })
  .passthrough();

export interface LocalRunnerTasksOptions {
  runners: RunnerProcesses;
  /** The egress proxy's runner password, redacted from a lost runner's last lines. */
  proxyPassword: string | undefined;
  /** The local secrets file: its values are redacted from a lost runner's last lines too. */
  secretsFile: string;
  /** Fails a lost runner's waiting task (the state machine's SendTaskFailure). */
  sendTaskFailure: SendTaskFailure;
  events: RunEventLog;
  log: LocalLog;
}

/**
 * ECS RunTask for the state machine, as local mode serves it: each task is a runner process with the
 * task's environment overrides. A runner that dies without reporting fails its run's task at once, as
 * ECS's Task State Change event does on AWS (local/runner-loss.ts); the heartbeat stays the backstop.
 * A stop the platform asked for (cancel, finalize, shutdown) is not a loss.
 */
export class LocalRunnerTasks {
  /** Each live runner's task token and the secrets handed to it, to fail its task if it dies without reporting. */
  private readonly live = new Map<string, { taskToken: string; secretValues: string[] }>();

  constructor(private readonly options: LocalRunnerTasksOptions) {
    options.runners.on('exited', (exit) => {
      const task = this.live.get(exit.taskArn);
      this.live.delete(exit.taskArn);
      if (exit.stopRequested || !task) return;
      failLostLocalRunner(
        exit,
        { taskToken: task.taskToken, secretValues: [...task.secretValues, ...localSecretValues(options.secretsFile)] },
        options.sendTaskFailure,
      )
        .then(async (result) => {
          if (result.action !== 'failed') return;
          await options.events.append(
            exit.runId,
            'note',
            `runner process exited (${exit.signal ?? `code ${exit.code}`}) without reporting: ${result.cause}`,
            { code: exit.code, signal: exit.signal },
          );
        })
        .catch((error: unknown) =>
          options.log.error('could not end the run of a lost runner', { runId: exit.runId, error: errorText(error) }),
        );
    });
  }

  /** The integration for RUN_TASK_RESOURCE: starts the run's runner; the task completes through its token. */
  readonly runTask = async (call: IntegrationCall): Promise<unknown> => {
    const parameters = RunTaskParameters.parse(call.parameters);
    const overrides: Record<string, string> = {};
    for (const { Name, Value } of parameters.Overrides.ContainerOverrides[0]!.Environment) overrides[Name] = Value;
    const runId = parameters.StartedBy;
    const { taskArn } = this.options.runners.start(runId, overrides);
    if (overrides.TASK_TOKEN)
      this.live.set(taskArn, {
        taskToken: overrides.TASK_TOKEN,
        secretValues: [overrides.RUN_KEY ?? '', this.options.proxyPassword ?? ''],
      });
    return { Tasks: [{ TaskArn: taskArn, StartedBy: runId, LastStatus: 'PROVISIONING' }], Failures: [] };
  };
}
