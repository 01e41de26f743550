import { sampleRepo } from '../local/platform-harness';
import { CONSOLE_TEST_TIMEOUT_MS, screenshot, useConsoleFixture } from './browser';

/**
 * A hostile replay in the web console: the recorded session's file name, tool output, summary and
 * risks carry markup and script; the console shows all of it as text and runs none of it.
 */
const long = CONSOLE_TEST_TIMEOUT_MS;

describe('web console in Chromium', () => {
  describe('a hostile replay', () => {
    const fixture = useConsoleFixture('console-hostile');

    it(
      'Given a hostile replay, When its run is shown, Then markup and script in the summary, tool output and file names show as text, and none of it runs',
      async () => {
        const { page } = fixture.browser;
        const { runId } = await fixture.platform.client.submit({ repo: sampleRepo, prompt: 'Hostile <script>alert("prompt")</script>' });
        await page.goto(`${fixture.platform.platform.url}/runs/${runId}`);
        await page.waitForSelector('h1 ~ .status[data-status="SUCCEEDED"]', { timeout: 180_000 });
        await page.locator('.diff-file').first().waitFor({ timeout: 120_000 });

        const main = page.locator('main');
        await expect(main.textContent()).resolves.toContain('Hostile <script>alert("prompt")</script>');
        // The tool's output, as printed by the shell.
        const shellOutput = page.locator('li.event-tool_call', { hasText: 'shell' }).locator('pre').last();
        await shellOutput.evaluate((pre) => pre.closest('details')?.setAttribute('open', ''));
        await expect(shellOutput.textContent()).resolves.toContain('<script>alert("tool")</script>\n<img src=x onerror=alert(2)>');
        // The finish tool's input carries the summary.
        await expect(main.textContent()).resolves.toContain('<script>alert(\\"summary\\")</script>');
        // The file name, in the diff.
        await expect(page.locator('.diff-file-name code').allTextContents()).resolves.toContain('<img src=x onerror=alert(1)>.js');
        await screenshot(page, 'hostile-run');

        const prUrl = (await fixture.platform.client.getRun(runId)).prUrl!;
        await page.goto(prUrl);
        await page.locator('.pr-body h2').waitFor();
        const body = await page.locator('.pr-body').textContent();
        expect(body).toContain('<script>alert("summary")</script>');
        expect(body).toContain('<img src=x onerror="window.__pwned=1">');
        expect(body).toContain('<iframe src="javascript:alert(4)"></iframe>');
        await screenshot(page, 'hostile-pull-request');

        for (const url of [`${fixture.platform.platform.url}/runs/${runId}`, prUrl, `${fixture.platform.platform.url}/`]) {
          await page.goto(url);
          await page.waitForSelector('main[data-ready]');
          // Nothing the agent wrote became an element: no images, scripts or frames in the page at all.
          await expect(page.locator('main img, main script, main iframe, main b').count()).resolves.toBe(0);
          await expect(page.evaluate('document.scripts.length')).resolves.toBe(1);
          await expect(page.evaluate('window.__pwned')).resolves.toBeUndefined();
        }
        expect(fixture.browser.dialogs).toEqual([]);
        expect(fixture.browser.pageErrors).toEqual([]);
      },
      long,
    );
  });
});
