import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { InboxItemType } from '../../core/inbox/inbox-item';
import { riskyActionRequest } from '../../core/inbox/risky-action';
import { openInboxItem } from '../support/open-inbox-item';
import { demoAssets } from '../../local/demo';
import { createBareRepoFromDirectory } from '../../local/forge';
import { ended, sampleRepo, startTestPlatform, testHome, untilStatus, type TestPlatform } from '../local/platform-harness';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';
import { axeViolations, CONSOLE_TEST_TIMEOUT_MS, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The runs page's filters and Queue column, and Reject on an inbox item, in Debian's Chromium against
 * local mode (issue 12). One slot (`concurrency.global: 1`) and a replay whose first tool call sleeps,
 * so while one run works the next two wait QUEUED at positions 1 and 2, in two repositories.
 */
const long = CONSOLE_TEST_TIMEOUT_MS;
const otherRepo = 'demo/other-app';

async function pageReady(page: Page, path: string): Promise<void> {
  await page.waitForSelector(`main[data-ready="${path}"]`, { timeout: 120_000 });
}

describe('web console in Chromium: filters, queue, reject and risky actions', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  beforeAll(async () => {
    const base = localFixture({ concurrency: { global: 1, perRepo: 1 } });
    const config = { ...base, repos: [...base.repos, { name: otherRepo, test: 'npm test', budgetUsd: 1, maxMinutes: 3 }] };
    const prepared = testHome(config);
    createBareRepoFromDirectory(prepared.home.forge, otherRepo, demoAssets.sampleRepo);
    t = await startTestPlatform({ session: join(__dirname, '..', 'local', 'fixtures', 'slow-session.jsonl'), ...prepared });
    browser = await openBrowser();
  }, long);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  }, long);

  /** The cells of a run's row on the runs page, by column header. */
  const cell = async (page: Page, runId: string, column: string) => {
    const headers = await page.locator('table.runs thead th').allTextContents();
    return page.locator(`tr[data-run-id="${runId}"] td`).nth(headers.indexOf(column)).textContent();
  };
  // Polled through locators: a string given to waitForFunction would be eval'd, which the console's CSP refuses.
  const rowCount = (page: Page, n: number) =>
    eventually(
      async () => ((await page.locator('table.runs tbody tr').count()) === n ? true : undefined),
      `${n} rows on the runs page`,
      60_000,
    );
  const shownRuns = (page: Page) =>
    page.locator('table.runs tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));

  const openItem = (type: InboxItemType, message: string, details: Record<string, unknown>) =>
    openInboxItem(t.platform.store.inbox, { type, runId: working, repo: sampleRepo, requester: 'local:tester', message, details });

  let working: string;
  let queuedOther: string;
  let queuedSample: string;

  it(
    'Given waiting runs, When the runs page is open, Then the Queue column shows their queue positions, live',
    async () => {
      const { page } = browser;
      working = (await t.client.submit({ repo: sampleRepo, prompt: 'Look at the test timing.' })).runId;
      await untilStatus(t.client, working, (r) => r.status === 'RUNNING', 'the first run to hold the slot', 120_000);
      await page.goto(`${t.platform.url}/`);
      await pageReady(page, '/');
      queuedOther = (await t.client.submit({ repo: otherRepo, prompt: 'Look at the test timing.' })).runId;
      queuedSample = (await t.client.submit({ repo: sampleRepo, prompt: 'Look at the test timing again.' })).runId;
      await untilStatus(t.client, queuedSample, (r) => r.queuePosition === 2, 'the third run at position 2', 60_000);
      expect((await t.client.getRun(queuedOther)).queuePosition).toBe(1);

      // The page picks the new runs up without a reload, with their positions.
      await page.locator(`tr[data-run-id="${queuedSample}"] .status[data-status="QUEUED"]`).waitFor();
      await eventually(
        async () => ((await cell(page, queuedSample, 'Queue')) === '#2' ? true : undefined),
        'the Queue column to show #2',
        60_000,
      );
      await expect(cell(page, queuedOther, 'Queue')).resolves.toBe('#1');
      await expect(cell(page, queuedSample, 'Queue')).resolves.toBe('#2');
      await expect(cell(page, working, 'Queue')).resolves.toBe('—');
      // Newest first.
      await expect(shownRuns(page)).resolves.toEqual([queuedSample, queuedOther, working]);
      await expect(axeViolations(page)).resolves.toEqual([]);
      await screenshot(page, 'runs-queue');
    },
    long,
  );

  it(
    'Given runs of several statuses, repositories and requesters, When they are filtered, Then the filter goes through the API and is kept in the address',
    async () => {
      const { page } = browser;
      await page.getByLabel('Status').selectOption('QUEUED');
      const listed = page.waitForRequest((r) => r.url().includes('/v1/runs?') && r.url().includes('status=QUEUED'));
      await page.getByRole('button', { name: 'Filter' }).click();
      await listed;
      await page.waitForURL(/\/\?status=QUEUED$/);
      await pageReady(page, '/');
      await rowCount(page, 2);
      await expect(shownRuns(page)).resolves.toEqual([queuedSample, queuedOther]);

      await page.getByLabel('Repository').selectOption(otherRepo);
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(`**/?status=QUEUED&repo=${encodeURIComponent(otherRepo)}`);
      await rowCount(page, 1);
      await expect(shownRuns(page)).resolves.toEqual([queuedOther]);
      await screenshot(page, 'runs-filtered');

      // A bookmarked address opens with its filters chosen.
      await page.goto(`${t.platform.url}/?repo=${encodeURIComponent(sampleRepo)}`);
      await pageReady(page, '/');
      await rowCount(page, 2);
      await expect(shownRuns(page)).resolves.toEqual([queuedSample, working]);
      await expect(page.getByLabel('Repository').inputValue()).resolves.toBe(sampleRepo);
      await expect(page.getByLabel('Status').inputValue()).resolves.toBe('');

      // Requester: someone else's runs are none of these; the caller's are all of them.
      await page.getByLabel('Repository').selectOption('');
      await page.getByLabel('Requester').fill('arn:aws:iam::111122223333:user/someone-else');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/requester=arn/);
      await page.getByText('No runs yet.').waitFor();
      await expect(shownRuns(page)).resolves.toEqual([]);
      await page.getByLabel('Requester').fill('local:tester');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/requester=local%3Atester$/);
      await rowCount(page, 3);

      // A finished status: the cancelled run, and only it.
      await t.client.cancel(queuedSample);
      await untilStatus(t.client, queuedSample, ended, 'the cancelled run to end', 60_000);
      await page.goto(`${t.platform.url}/?status=CANCELLED`);
      await pageReady(page, '/');
      await rowCount(page, 1);
      await expect(shownRuns(page)).resolves.toEqual([queuedSample]);
      await expect(axeViolations(page)).resolves.toEqual([]);
    },
    long,
  );

  it(
    'Given an inbox item, When it is rejected with one click, Then the API gets the rejection, the card says so and the item is resolved',
    async () => {
      const { page } = browser;
      const planId = await openItem('plan_approval', 'Approve this plan?', { plan: '1. Delete the tests\n2. Push' });
      await page.goto(`${t.platform.url}/inbox`);
      await pageReady(page, '/inbox');
      const card = page.locator(`li.inbox-item[data-item-id="${planId}"]`);
      await card.waitFor();
      const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/inbox/${planId}`));
      await card.getByRole('button', { name: 'Reject plan' }).click();
      expect((await posted).postDataJSON()).toEqual({ action: 'reject' });
      await card.locator('.resolution').filter({ hasText: 'Rejected by local:tester' }).waitFor();
      await expect(card.getByRole('button', { name: 'Approve plan' }).count()).resolves.toBe(0);
      await expect(t.platform.store.inbox.get(planId)).resolves.toMatchObject({
        state: 'resolved',
        resolution: { action: 'reject' },
        resolvedBy: 'local:tester',
      });
      // The page's count follows at its next render, and the rejection is listed as resolved after a reload.
      await page.locator('section.inbox-group[data-type="plan_approval"] h2').filter({ hasText: 'Plans to approve (0 open)' }).waitFor();
      await page.reload();
      await pageReady(page, '/inbox');
      await page.locator(`.inbox-resolved li[data-item-id="${planId}"]`).filter({ hasText: 'Rejected' }).waitFor();
      await expect(axeViolations(page)).resolves.toEqual([]);
      expect(browser.dialogs).toEqual([]);
      expect(browser.pageErrors).toEqual([]);
    },
    long,
  );

  it(
    'Given risky actions waiting, When the inbox shows them, Then the command or file, its matched rule and the proposed change show as text, and approve and reject are sent',
    async () => {
      const { page } = browser;
      // The items carry what the runner's tool gate writes (core/inbox/risky-action.ts), from hostile tool calls.
      const command = 'echo "<script>window.__pwned=1</script>" && npm publish --tag <b>next</b>';
      const shell = riskyActionRequest({ tool: 'shell', command, pattern: 'npm publish*' });
      const shellId = await openItem('risky_action', shell.message, shell.details);
      const edit = riskyActionRequest(
        { tool: 'edit_file', path: 'migrations/<img src=x onerror="window.__pwned=2">.sql', pattern: 'migrations/**' },
        {
          path: 'migrations/x.sql',
          oldText: 'DROP TABLE users;',
          newText: 'DROP TABLE users CASCADE;\n<iframe src="javascript:alert(1)"></iframe>',
        },
      );
      const editId = await openItem('risky_action', edit.message, edit.details);

      await page.goto(`${t.platform.url}/inbox`);
      await pageReady(page, '/inbox');
      const shellCard = page.locator(`li.inbox-item[data-item-id="${shellId}"]`);
      const editCard = page.locator(`li.inbox-item[data-item-id="${editId}"]`);
      await shellCard.waitFor();
      await editCard.waitFor();
      await expect(page.locator('section.inbox-group[data-type="risky_action"] h2').textContent()).resolves.toBe(
        'Actions to approve (2 open)',
      );
      await expect(shellCard.locator('.risky-command').textContent()).resolves.toBe(command);
      await expect(shellCard.locator('.risky-pattern').textContent()).resolves.toBe('npm publish*');
      await expect(shellCard.locator('.risky-change').count()).resolves.toBe(0);
      await expect(editCard.locator('.risky-path').textContent()).resolves.toBe('migrations/<img src=x onerror="window.__pwned=2">.sql');
      await expect(editCard.locator('.risky-pattern').textContent()).resolves.toBe('migrations/**');
      await expect(editCard.locator('dt').allTextContents()).resolves.toEqual(['Tool', 'File', 'Matched path glob']);
      const lines = editCard.locator('.risky-change tbody tr');
      await expect(lines.evaluateAll((rows) => rows.map((r) => [r.className, r.querySelector('td.code')?.textContent]))).resolves.toEqual([
        ['line line-del', 'DROP TABLE users;'],
        ['line line-add', 'DROP TABLE users CASCADE;'],
        ['line line-add', '<iframe src="javascript:alert(1)"></iframe>'],
      ]);
      // The fields shown above are not listed again among the other details.
      await expect(editCard.locator('.inbox-details').count()).resolves.toBe(0);
      // Nothing the agent wrote became an element or ran.
      await expect(page.locator('main img, main script, main iframe, main b').count()).resolves.toBe(0);
      await expect(page.evaluate('window.__pwned')).resolves.toBeUndefined();
      await expect(axeViolations(page)).resolves.toEqual([]);
      await screenshot(page, 'inbox-risky-action');

      const approved = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/inbox/${shellId}`));
      await shellCard.getByRole('button', { name: 'Approve action' }).click();
      expect((await approved).postDataJSON()).toEqual({ action: 'approve' });
      await shellCard.locator('.resolution').filter({ hasText: 'Approved by local:tester' }).waitFor();
      const rejected = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/inbox/${editId}`));
      await editCard.getByRole('button', { name: 'Reject action' }).click();
      expect((await rejected).postDataJSON()).toEqual({ action: 'reject' });
      await editCard.locator('.resolution').filter({ hasText: 'Rejected by local:tester' }).waitFor();
      await expect(t.platform.store.inbox.get(shellId)).resolves.toMatchObject({ state: 'resolved', resolution: { action: 'approve' } });
      await expect(t.platform.store.inbox.get(editId)).resolves.toMatchObject({ state: 'resolved', resolution: { action: 'reject' } });
      expect(browser.dialogs).toEqual([]);
      expect(browser.pageErrors).toEqual([]);

      for (const runId of [working, queuedOther]) await t.client.cancel(runId).catch(() => undefined);
      for (const runId of [working, queuedOther]) await untilStatus(t.client, runId, ended, 'the run to end', 90_000);
    },
    long,
  );
});
