import type { NightshiftConfig } from './schema';
import { loadConfig, parseConfig } from './load';

/**
 * The configuration as a running component sees it. Lambda bundles have the validated config inlined
 * at synth time (esbuild `define` of `process.env.NIGHTSHIFT_CONFIG_JSON`, so a config change is a
 * new bundle and never exceeds Lambda's 4 KB environment limit); the runner task gets it in its
 * container environment; local mode and tests read the file named by NIGHTSHIFT_CONFIG.
 */
let cached: NightshiftConfig | undefined;

export function runtimeConfig(): NightshiftConfig {
  if (cached) return cached;
  const inline = process.env.NIGHTSHIFT_CONFIG_JSON;
  cached = inline ? parseConfig(JSON.parse(inline) as unknown, 'NIGHTSHIFT_CONFIG_JSON') : loadConfig();
  return cached;
}

/** For tests and local mode, which run several configurations in one process. */
export function setRuntimeConfig(config: NightshiftConfig | undefined): void {
  cached = config;
}
