import { squidOrSkip } from '../egress/squid-process';
import { sampleRepo } from '../local/platform-harness';
import { CONSOLE_TEST_TIMEOUT_MS, screenshot, useConsoleFixture } from './browser';

/**
 * A run followed in the console while it works: the tool running now (a slow shell command), then,
 * once it ended, the hosts the egress proxy (real squid) refused.
 */
const { describeWithSquid } = squidOrSkip();
const long = CONSOLE_TEST_TIMEOUT_MS;

describeWithSquid('web console in Chromium: a run at work', () => {
  const fixture = useConsoleFixture('console-live');

  it(
    'Given a run with a slow shell command, When its page is open, Then the tool running now is shown while it runs, and the refused host after',
    async () => {
      const { page } = fixture.browser;
      const { runId } = await fixture.platform.client.submit({
        repo: sampleRepo,
        prompt: 'Download the installer and note what happened.',
      });
      await page.goto(`${fixture.platform.platform.url}/runs/${runId}`);
      // The slow `sleep 20` shell command: asked for by a model turn, not yet recorded as a tool call.
      await page.locator('.running-now', { hasText: 'Running now: shell' }).waitFor({ timeout: 180_000 });
      await screenshot(page, 'run-at-work');
      await page.waitForSelector('h1 ~ .status[data-status="SUCCEEDED"]', { timeout: 180_000 });
      await expect(page.locator('.running-now').isHidden()).resolves.toBe(true);
      const hosts = page.locator('section[aria-labelledby="hosts-h"] li');
      await hosts.first().waitFor({ timeout: 60_000 });
      await expect(hosts.allTextContents()).resolves.toEqual([expect.stringMatching(/^denied\.example\.com \(\d+ requests?\)$/)]);
      expect(fixture.browser.dialogs).toEqual([]);
    },
    long,
  );
});
