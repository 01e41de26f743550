import { join, resolve } from 'node:path';
import * as z from 'zod';
import { issuePath } from '../core/config/load';
import { ensureHome, resolveHome, type NightshiftHome } from './home';
import { fileLog, stderrLog, type LocalLog } from './local-log';
import { resolveModel } from './model-choice';
import { localRequester } from './operator';
import type { PlatformMeter } from './meter/platform-meter';
import { localPorts } from './ports';

/** What local mode starts with (startLocalPlatform in local/platform.ts). */
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
  /** Counts DynamoDB units, Lambda invocations and SNS publishes (local/meter/, bench/run-overhead.bench.ts); default none, nothing counted. */
  meter?: PlatformMeter;
}

const LocalEnv = z.object({
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number')
    .default('8787'),
  NIGHTSHIFT_HOME: z.string().min(1).default('.nightshift'),
  NIGHTSHIFT_CONFIG: z.string().min(1).default('nightshift.config.json'),
  NIGHTSHIFT_MODEL: z.string().min(1).optional(),
  /** A directory: every run's model responses, recorded in the replay format (docs/providers.md). */
  NIGHTSHIFT_RECORD: z.string().min(1).optional(),
  /** Where synthesized templates are cached (default $NIGHTSHIFT_HOME/cache); several homes can share one. */
  NIGHTSHIFT_CACHE_DIR: z.string().min(1).optional(),
});

/** Options from the environment, as `nightshift dev` takes them (docs/local-mode.md#environment). */
export function localPlatformOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  options: { logTo: 'stderr' | 'file'; logFormat?: 'json' | 'text' },
): LocalPlatformOptions {
  const read = LocalEnv.safeParse(env);
  if (!read.success)
    throw new Error(
      `local mode's environment is invalid: ${read.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`).join('; ')}`,
    );
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
