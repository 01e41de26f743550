import '../core/polyfills';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ApiClient } from '../cli/api-client';
import { headlessChromium } from '../console/headless-chromium';
import { consoleAssets } from '../console/server/console-assets';
import { isTerminal } from '../core/runs/lifecycle';
import { demoAssets } from '../local/demo';
import { startBenchPlatform } from './bench-platform';
import { runWhenMain } from './run-main';

/**
 * The web console: bytes shipped for the runs page (page, script, stylesheet; raw and gzip), and time
 * to first render of the runs page in headless Chromium with the cache disabled (navigation start to
 * the page's first render of the runs table, `performance.mark`), median of 10 loads, against local
 * mode holding 5 finished runs.
 */
const samples = 10;

async function main(): Promise<void> {
  const assets = await consoleAssets();
  const files = [['/', assets.page] as const, ...assets.files];
  let raw = 0;
  let gzip = 0;
  for (const [path, asset] of files) {
    const zipped = gzipSync(asset.body).length;
    raw += asset.body.length;
    gzip += zipped;
    process.stdout.write(`console ${path}: ${asset.body.length} bytes (${zipped} gzip)\n`);
  }
  process.stdout.write(`console bytes shipped for the runs page: ${raw} (${gzip} gzip), plus the API's JSON\n`);

  const quiet = console.log;
  console.log = () => undefined;
  const bench = await startBenchPlatform('console');
  const { platform } = bench;
  const profile = mkdtempSync(join(tmpdir(), 'nightshift-bench-chromium-'));
  try {
    const client = new ApiClient({ baseUrl: platform.url });
    const runIds: string[] = [];
    for (let i = 0; i < 5; i++)
      runIds.push((await client.submit({ repo: demoAssets.repo, prompt: `Console benchmark run ${i + 1}` })).runId);
    for (const runId of runIds) {
      for (;;) {
        if (isTerminal((await client.getRun(runId)).status)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const context = await chromium.launchPersistentContext(profile, headlessChromium);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        await page.goto(`${platform.url}/`);
        await page.waitForSelector('main[data-ready="/"]', { timeout: 60_000 });
        times.push(Number(await page.evaluate(`performance.getEntriesByName('nightshift:ready:/')[0].startTime`)));
      }
      times.sort((a, b) => a - b);
      process.stdout.write(
        `console runs page, time to first render (cold cache, 5 runs): median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms over ${samples} loads\n`,
      );
    } finally {
      await context.close();
    }
  } finally {
    console.log = quiet;
    rmSync(profile, { recursive: true, force: true });
    await bench.stop();
  }
}

runWhenMain(module, main);
