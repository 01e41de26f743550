import type { Page } from 'playwright-core';
import { sampleRepo } from '../local/platform-harness';
import { axeViolations, CONSOLE_TEST_TIMEOUT_MS, screenshot, useConsoleFixture } from './browser';

/**
 * The web console in Debian's Chromium against local mode: submit from the form, follow the run live
 * to SUCCEEDED, its timeline and its diff with a risky line marked, the PR view, accessibility (axe)
 * and on every page
(the hostile replay is console-hostile.test.ts: one local platform per test file).
 */
const long = CONSOLE_TEST_TIMEOUT_MS;

async function pageReady(page: Page, path: string): Promise<void> {
  await page.waitForSelector(`main[data-ready="${path}"]`, { timeout: 120_000 });
}

async function expectAccessible(page: Page): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations).toEqual([]);
}

describe('web console in Chromium', () => {
  describe('a run submitted from the form', () => {
    const fixture = useConsoleFixture('console-risky');

    it(
      'Given the submit form, When a run is submitted, Then it is followed live to SUCCEEDED and shows its timeline, tests, cost and diff with the lockfile marked',
      async () => {
        const { page } = fixture.browser;
        await page.goto(`${fixture.platform.platform.url}/submit`);
        await pageReady(page, '/submit');
        await expectAccessible(page);
        await screenshot(page, 'submit');
        await page.getByLabel('Repository').selectOption(sampleRepo);
        await page.getByLabel('Prompt').fill('Fix slugify so the tests pass.');
        // Over the cap: the API's refusal is shown, and nothing was submitted.
        await page.getByLabel('Budget (USD)').fill('50');
        await page.getByRole('button', { name: 'Submit run' }).click();
        await page.getByRole('alert').filter({ hasText: 'The run was not submitted' }).waitFor();
        expect((await fixture.platform.client.listRuns()).runs).toEqual([]);
        await page.getByLabel('Budget (USD)').fill('0.5');
        await page.getByRole('button', { name: 'Submit run' }).click();

        await page.waitForURL(/\/runs\/[0-9A-Z]{26}$/);
        const runId = page.url().split('/').pop()!;
        // Live: the page itself follows the run (no reload) until the badge says SUCCEEDED.
        await page.waitForSelector('h1 ~ .status[data-status="SUCCEEDED"]', { timeout: 180_000 });
        const run = await fixture.platform.client.getRun(runId);
        expect(run).toMatchObject({ status: 'SUCCEEDED', budgetUsd: 0.5, prompt: 'Fix slugify so the tests pass.' });

        await page.getByText('tests at head: passed').waitFor();
        await expect(page.locator('.test-delta').textContent()).resolves.toMatch(/base failed .* → head passed/);
        // The shell tool's long output is collapsed until opened.
        const npmTest = page.locator('li.event-tool_call', { hasText: 'shell' }).first();
        await expect(npmTest.locator('details.tool-io').last().getAttribute('open')).resolves.toBeNull();
        await expect(page.locator('#cost-h + p').textContent()).resolves.toContain('of $0.50 budget');

        const risky = page.locator('tr.line-risky[data-risk~="lockfile"]').first();
        await risky.waitFor({ timeout: 120_000 });
        await expect(risky.textContent()).resolves.toContain('lockfile');
        await expect(page.locator('.diff-file-name', { hasText: 'src/slugify.js' }).count()).resolves.toBe(1);
        await expectAccessible(page);
        await screenshot(page, 'run');

        await page.getByRole('link', { name: 'Runs', exact: true }).click();
        await pageReady(page, '/');
        const row = page.locator(`tr[data-run-id="${runId}"]`);
        await expect(row.locator('.status').getAttribute('data-status')).resolves.toBe('SUCCEEDED');
        await expect(row.textContent()).resolves.toContain('pr_opened');
        await expectAccessible(page);
        await screenshot(page, 'runs');

        // The local PR link opens the console's PR view: title, body, diff from the forge.
        await row.getByRole('link', { name: /^PR/ }).click();
        await page.waitForURL(/\/demo\/sample-app\/pull\/\d+$/);
        await page.locator('.pr-body h2').waitFor();
        await expect(page.locator('h1').textContent()).resolves.toContain('Nightshift: Fix slugify');
        await expect(page.locator('.pr-body').textContent()).resolves.toContain('Changed files');
        await page.locator('tr.line-risky[data-risk~="lockfile"]').first().waitFor();
        await expectAccessible(page);
        await screenshot(page, 'pull-request');
        expect(fixture.browser.dialogs).toEqual([]);
      },
      long,
    );

    it(
      'Given "Plan first" ticked, When the form is submitted, Then the run is sent and stored as a plan run',
      async () => {
        const { page } = fixture.browser;
        const { platform, client } = fixture.platform;
        await page.goto(`${platform.url}/submit`);
        await pageReady(page, '/submit');
        await page.getByLabel('Repository').selectOption(sampleRepo);
        await page.getByLabel('Prompt').fill('Plan how to fix slugify.');
        await page.getByLabel('Plan first').check();
        await expectAccessible(page);
        const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/v1/runs'));
        await page.getByRole('button', { name: 'Submit run' }).click();
        expect((await posted).postDataJSON()).toEqual({ repo: sampleRepo, prompt: 'Plan how to fix slugify.', plan: true });
        await page.waitForURL(/\/runs\/[0-9A-Z]{26}$/);
        const runId = page.url().split('/').pop()!;
        await expect(platform.store.runs.get(runId)).resolves.toMatchObject({ plan: true });
        // This file's replay is not a plan session: the run is cancelled, not followed.
        await client.cancel(runId);
      },
      long,
    );

    it(
      "Given local mode's console, When its paths are asked for, Then it answers with the CSP, goes through the API for runs, and refuses what it should",
      async () => {
        const base = fixture.platform.platform.url;
        const page = await fetch(`${base}/`);
        expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
        expect((await fetch(`${base}/v1/health`)).status).toBe(200);
        // An unknown run: the API's own 404, unchanged; a path that is no run id never reaches it.
        const unknown = await fetch(`${base}/_console/runs/01J00000000000000000000000/diff`);
        expect(unknown.status).toBe(404);
        await expect(unknown.json()).resolves.toMatchObject({ error: { code: 'run_not_found' } });
        expect((await fetch(`${base}/_console/runs/..%2F..%2Fetc/diff`)).status).toBe(404);
        expect((await fetch(`${base}/_console/pulls/demo/sample-app/999`)).status).toBe(404);
        expect((await fetch(`${base}/_console/pulls/..%2F..%2Fetc/passwd/1`)).status).toBe(404);
        expect(
          (await fetch(`${base}/`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json' }, body: '{}' })).status,
        ).toBe(405);
        expect((await fetch(`${base}/_console/config`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
        await expect((await fetch(`${base}/_console/config`)).json()).resolves.toMatchObject({
          mode: 'local',
          repos: [{ name: sampleRepo, budgetUsd: 1, maxMinutes: 3 }],
          diffs: true,
        });
      },
      long,
    );

    it(
      'Given the console page, When it is used from the keyboard, Then the skip link comes first, then the navigation',
      async () => {
        const { page } = fixture.browser;
        await page.goto(`${fixture.platform.platform.url}/`);
        await pageReady(page, '/');
        await page.keyboard.press('Tab');
        await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Skip to content');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Tab');
        await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('New run');
        await page.keyboard.press('Enter');
        await pageReady(page, '/submit');
        await expect(page.evaluate('location.pathname')).resolves.toBe('/submit');
      },
      long,
    );
  });
});
