import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { RunnerProxyPassword } from '../core/egress/runner-credential';
import { RunKey } from '../core/runs/run-key';
import { RunId } from '../core/runs/schemas';
import { RUNNER_STOP_TIMEOUT_SECONDS } from '../core/runs/stop-grace';
import { modelSpecPattern } from './model/select-provider';

/**
 * The runner's environment (ECS container definition + the state machine's RUN_ID/TASK_TOKEN/RUN_KEY
 * overrides and the proxy credential secret; local mode sets the same names and points the AWS SDK at loopback with
 * AWS_ENDPOINT_URL_<SERVICE>). Table names are read by tableNamesFromEnv, the config by runtimeConfig.
 */
export const RunnerEnvironment = z.object({
  RUN_ID: RunId,
  TASK_TOKEN: z.string().min(1),
  /** The run key Admit issued to this task: its identity at the token broker. A secret. */
  RUN_KEY: RunKey,
  TOKEN_BROKER_FUNCTION: z.string().min(1),
  /** Unset: config `model.provider`. Else `bedrock`, `anthropic`, `openai` (the configured one) or `replay:<file>`. */
  NIGHTSHIFT_MODEL: z.string().regex(modelSpecPattern).optional(),
  /** Local mode: record each model response (redacted) to `<dir>/<RUN_ID>.jsonl`, the replay format. */
  NIGHTSHIFT_RECORD_DIR: z.string().min(1).optional(),
  /** Overrides config `github.apiUrl` (local forge). */
  GITHUB_API_URL: z.string().url().optional(),
  /** S3 bucket for traces; without it, NIGHTSHIFT_TRACE_DIR (local mode). */
  TRACES_BUCKET: z.string().min(3).optional(),
  NIGHTSHIFT_TRACE_DIR: z.string().min(1).optional(),
  /** Local mode: the setup cache's directory (runner/session/setup-cache.ts); on AWS it is S3 through the broker. */
  NIGHTSHIFT_SETUP_CACHE_DIR: z.string().min(1).optional(),
  /** The runner image (URI with its asset hash), part of the setup cache's key; locally the host's OS stands in for it. */
  NIGHTSHIFT_RUNNER_IMAGE: z.string().min(1).max(512).optional(),
  /** Parent of the per-run workspace. */
  NIGHTSHIFT_WORKDIR: z.string().min(1).default(join(tmpdir(), 'nightshift-work')),
  NIGHTSHIFT_TOOL_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
    .default('nightshift-tool'),
  /** The egress proxy (http://host:port) for tools and the runner's git. */
  NIGHTSHIFT_PROXY_URL: z.string().url().optional(),
  /** The runner's credential at the proxy for the AWS API hosts (core/egress/runner-credential.ts). A secret. */
  NIGHTSHIFT_PROXY_PASSWORD: RunnerProxyPassword.optional(),
  NIGHTSHIFT_KEEP_WORKSPACE: z.enum(['0', '1']).default('0'),
  /** `1`: the tool user serves only this run (the image), so every process of it is killed after each command. */
  NIGHTSHIFT_TOOL_USER_EXCLUSIVE: z.enum(['0', '1']).default('0'),
  /** Seconds between SIGTERM and SIGKILL that the launcher grants (ECS `stopTimeout`; local mode's stop timeout). */
  NIGHTSHIFT_STOP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(RUNNER_STOP_TIMEOUT_SECONDS).default(RUNNER_STOP_TIMEOUT_SECONDS),
  /** Store the trace after this many new records (default 20). */
  NIGHTSHIFT_TRACE_FLUSH_EVERY: z.coerce.number().int().min(1).max(10_000).optional(),
  AWS_REGION: z.string().optional(),
});
export type RunnerEnvironment = z.infer<typeof RunnerEnvironment>;

export function readRunnerEnvironment(env: NodeJS.ProcessEnv = process.env): RunnerEnvironment {
  const parsed = RunnerEnvironment.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    // Names only: values (the task token) never reach the log.
    throw new Error(`runner environment is invalid: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  if (!parsed.data.TRACES_BUCKET && !parsed.data.NIGHTSHIFT_TRACE_DIR)
    throw new Error('runner environment is invalid: set TRACES_BUCKET or NIGHTSHIFT_TRACE_DIR');
  // Behind a proxy the runner's AWS clients need the credential: without it every model call would get a 407.
  if (parsed.data.NIGHTSHIFT_PROXY_URL && !parsed.data.NIGHTSHIFT_PROXY_PASSWORD)
    throw new Error('runner environment is invalid: NIGHTSHIFT_PROXY_URL is set without NIGHTSHIFT_PROXY_PASSWORD');
  return parsed.data;
}

/** Values in the runner's environment that must never be written anywhere. */
export function secretValuesOf(env: NodeJS.ProcessEnv): string[] {
  return [
    'TASK_TOKEN',
    'RUN_KEY',
    'NIGHTSHIFT_PROXY_PASSWORD',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'GITHUB_TOKEN',
  ]
    .map((name) => env[name])
    .filter((v): v is string => typeof v === 'string' && v !== '');
}
