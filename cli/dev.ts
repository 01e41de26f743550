import type { CliIo } from './cli-io';

/** `nightshift dev`: the local platform in the foreground until Ctrl-C. */
export async function runDev(options: { json: boolean; io: CliIo; record?: string }): Promise<number> {
  const { startLocalPlatform } = require('../local/platform') as typeof import('../local/platform');
  const { localPlatformOptionsFromEnv } = require('../local/platform-options') as typeof import('../local/platform-options');
  const env = options.record ? { ...process.env, NIGHTSHIFT_RECORD: options.record } : process.env;
  // Lines a person reads, unless --json asks for the structured ones.
  const platform = await startLocalPlatform(
    await localPlatformOptionsFromEnv(env, { logTo: 'stderr', logFormat: options.json ? 'json' : 'text' }),
  );
  const ready = {
    event: 'ready',
    url: platform.url,
    console: `${platform.url}/`,
    home: platform.home.root,
    forge: platform.forgeUrl,
    model: platform.model,
    record: platform.recordDir ?? null,
  };
  const recording = platform.recordDir ? `; recording model responses to ${platform.recordDir}` : '';
  options.io.out(
    options.json
      ? JSON.stringify(ready)
      : `Nightshift local mode is ready on ${platform.url} (home ${platform.home.root}, model ${platform.model ?? 'none: submissions are refused until one is configured (docs/providers.md)'}${recording}). Web console: ${platform.url}/ . Ctrl-C stops it.`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  options.io.err('stopping…');
  await platform.stop();
  return 0;
}
