import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAssets } from '../local/demo';
import { createBareRepoFromDirectory } from '../local/forge';
import { ensureHome, resolveHome, type NightshiftHome } from '../local/home';
import { jsonLog } from '../local/local-log';
import { startLocalPlatform, type LocalPlatform } from '../local/platform';
import type { LocalPlatformOptions } from '../local/platform-options';

export interface BenchPlatform {
  platform: LocalPlatform;
  /** The platform's home (runner logs under `logs/`). */
  home: NightshiftHome;
  /** Stops the platform and removes its home. */
  stop(): Promise<void>;
}

/**
 * A real local platform for a benchmark: its own home, the demo's config with room for many runs in a
 * day, the demo's sample repository in the forge, its recorded session, quiet logs (`options` overrides:
 * a meter, the handlers' log level).
 */
export async function startBenchPlatform(
  name: string,
  options: Pick<LocalPlatformOptions, 'meter' | 'handlerLogLevel'> = {},
): Promise<BenchPlatform> {
  const home = resolveHome(mkdtempSync(join(tmpdir(), `nightshift-bench-${name}-`)));
  ensureHome(home);
  const config = JSON.parse(JSON.stringify(require(demoAssets.config))) as { budgets: { perRequesterDailyUsd: number; dailyUsd: number } };
  config.budgets.perRequesterDailyUsd = 50;
  config.budgets.dailyUsd = 100;
  const configFile = join(home.root, 'nightshift.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  createBareRepoFromDirectory(home.forge, demoAssets.repo, demoAssets.sampleRepo);
  const platform = await startLocalPlatform({
    home,
    configFile,
    port: 0,
    model: `replay:${demoAssets.session}`,
    requester: 'local:bench',
    log: jsonLog(() => undefined),
    templateCacheDir: join(tmpdir(), 'nightshift-bench-template-cache'),
    handlerLogLevel: 'SILENT',
    ...options,
  });
  return {
    platform,
    home,
    stop: async () => {
      await platform.stop();
      rmSync(home.root, { recursive: true, force: true });
    },
  };
}
