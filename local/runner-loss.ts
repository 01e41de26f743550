import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { endLostRunner, type LostRunnerAction, type SendTaskFailure } from '../core/runs/runner-stop';
import { Redactor } from '../runner/redaction';
import type { RunnerExit } from './runner-processes';

/**
 * Local mode's ECS Task State Change: a runner process that exits without reporting fails its run's
 * waiting task at once, through the same decision as on AWS (core/runs/runner-stop.ts), with its last
 * stderr lines in the run's error, redacted of every secret value the platform knows and of anything
 * shaped like a token.
 */
export async function failLostLocalRunner(
  exit: RunnerExit,
  task: { taskToken: string; secretValues: readonly string[] },
  sendTaskFailure: SendTaskFailure,
): Promise<LostRunnerAction> {
  const redactor = new Redactor();
  for (const secret of [task.taskToken, ...task.secretValues]) redactor.add(secret);
  return endLostRunner(
    {
      stopCode: null,
      stoppedReason: null,
      exitCode: exit.code,
      containerReason: exit.signal ? `signal ${exit.signal}` : null,
      lastErrorLines: exit.lastErrorLines.map((line) => redactor.redact(line)),
    },
    task.taskToken,
    sendTaskFailure,
  );
}

/** Every value of the local secrets file (repo secrets, GitHub token, API keys); none when it cannot be read. */
export function localSecretValues(secretsFile: string): string[] {
  try {
    return Object.values(z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(secretsFile, 'utf8'))));
  } catch {
    return [];
  }
}
