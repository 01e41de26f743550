import type { Page } from 'playwright-core';
import { budgetApprovalRequest } from '../../core/inbox/budget-approval';
import { openInboxItem } from '../support/open-inbox-item';
import { sampleRepo } from '../local/platform-harness';
import { axeViolations, CONSOLE_TEST_TIMEOUT_MS, screenshot, useConsoleFixture } from './browser';

/**
 * The inbox page in Debian's Chromium against local mode: a run whose agent asks (a replay whose
 * question carries markup and script) shows up live, the question shows as text, one click answers
 * it and the run resumes to its PR; a different answer from a page that was still open shows the
 * API's 409 plainly. Plan and budget approvals show the plan (editable) and the amount.
 */
const long = CONSOLE_TEST_TIMEOUT_MS;

const HOSTILE_QUESTION =
  'Should slugify keep digits? <script>alert("question")</script><img src=x onerror="window.__pwned=1"> <b>bold?</b> & <iframe src="javascript:alert(4)"></iframe>';

async function pageReady(page: Page, path: string): Promise<void> {
  await page.waitForSelector(`main[data-ready="${path}"]`, { timeout: 120_000 });
}

async function expectNothingRan(page: Page): Promise<void> {
  // Nothing the agent wrote became an element: no images, scripts, frames or bold in the page.
  await expect(page.locator('main img, main script, main iframe, main b').count()).resolves.toBe(0);
  await expect(page.evaluate('document.scripts.length')).resolves.toBe(1);
  await expect(page.evaluate('window.__pwned')).resolves.toBeUndefined();
}

describe('web console in Chromium', () => {
  describe('the inbox', () => {
    const fixture = useConsoleFixture('console-ask-hostile');
    let askedRunId: string | undefined;

    it(
      'Given a run that asks, When the inbox shows its question, Then it is text, one click answers it and the run resumes to a PR, and a different answer from another tab shows the 409',
      async () => {
        const { page, context } = fixture.browser;
        const { client, platform } = fixture.platform;
        await page.goto(`${platform.url}/inbox`);
        await pageReady(page, '/inbox');
        await page.getByText('Nothing needs you right now').waitFor();

        const { runId } = await client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
        askedRunId = runId;
        // Live: the page itself picks the item up when the run pauses (no reload).
        const card = page.locator('section.inbox-group[data-type="question"] li.inbox-item');
        await card.waitFor({ timeout: 180_000 });
        await expect(client.getRun(runId)).resolves.toMatchObject({ status: 'WAITING_FOR_HUMAN' });
        await expect(page.locator('section.inbox-group[data-type="question"] h2').textContent()).resolves.toBe('Questions (1 open)');
        await expect(card.locator('.inbox-message').textContent()).resolves.toBe(HOSTILE_QUESTION);
        await expect(card.getByRole('link', { name: new RegExp(runId) }).getAttribute('href')).resolves.toBe(`/runs/${runId}`);
        await expectNothingRan(page);
        await expect(axeViolations(page)).resolves.toEqual([]);
        await screenshot(page, 'inbox');

        // A second tab with the same item open and another answer typed, not sent yet.
        const second = await context.newPage();
        await second.goto(`${platform.url}/inbox`);
        await pageReady(second, '/inbox');
        await second.getByLabel('Your answer').fill('No, drop digits.');

        await page.bringToFront();
        await card.getByLabel('Your answer').fill('Yes, keep digits.');
        await card.getByRole('button', { name: 'Send answer' }).click();
        await card.locator('.resolution').filter({ hasText: 'Answered: “Yes, keep digits.” by local:tester' }).waitFor();
        const [item] = (await client.inbox({ state: 'resolved' })).items;
        expect(item).toMatchObject({
          runId,
          type: 'question',
          state: 'resolved',
          resolution: { action: 'answer', answer: 'Yes, keep digits.' },
        });

        // The other tab sends its different answer: the API's 409 in words, the draft kept.
        await second.bringToFront();
        await second.getByRole('button', { name: 'Send answer' }).click();
        const refusal = second.locator('li.inbox-item [role="alert"]');
        await refusal.waitFor();
        const text = await refusal.textContent();
        expect(text).toContain('Not resolved: someone or something resolved this item differently.');
        expect(text).toContain('the item was already resolved with "answer"');
        expect(text).toContain('409 inbox_item_resolved');
        await expect(second.getByLabel('Your answer').inputValue()).resolves.toBe('No, drop digits.');
        await expect(second.getByRole('button', { name: 'Send answer' }).isEnabled()).resolves.toBe(true);
        await screenshot(second, 'inbox-conflict');
        await expectNothingRan(second);
        await second.close();

        // The answer resumed the run: its page follows it to the PR.
        await page.bringToFront();
        await card.getByRole('link', { name: 'follow the run' }).click();
        await page.waitForURL(`**/runs/${runId}`);
        await page.waitForSelector('h1 ~ .status[data-status="SUCCEEDED"]', { timeout: 180_000 });
        await expect(client.getRun(runId)).resolves.toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
        await page.getByRole('link', { name: 'view the pull request' }).waitFor();

        // Back in the inbox, the run's PR waits for review (pr_ready, with its link as text); one click
        // dismisses it, then nothing is open and the answer is among the recently resolved.
        await page.getByRole('link', { name: 'Inbox', exact: true }).click();
        await pageReady(page, '/inbox');
        const ready = page.locator('li.inbox-item[data-type="pr_ready"]');
        await ready.waitFor();
        const { prUrl } = await client.getRun(runId);
        await expect(ready.textContent()).resolves.toContain(prUrl!);
        await ready.getByRole('button', { name: 'Dismiss' }).click();
        await ready.locator('.resolution').waitFor();
        await page.goto(`${fixture.platform.platform.url}/inbox`);
        await pageReady(page, '/inbox');
        await page.getByText('Nothing needs you right now').waitFor();
        await page.locator('.inbox-resolved li').filter({ hasText: 'Answered: “Yes, keep digits.”' }).first().waitFor();
        await expectNothingRan(page);
        expect(fixture.browser.dialogs).toEqual([]);
        expect(fixture.browser.pageErrors).toEqual([]);
      },
      long,
    );

    it(
      'Given a plan approval and a budget approval, When the inbox shows them, Then the plan is editable and the amount shown, and the edited plan and the extra budget are sent',
      async () => {
        const { page } = fixture.browser;
        const { platform } = fixture.platform;
        expect(askedRunId).toBeDefined();
        const runId = askedRunId!;
        // The items are written to the store as Pause would write them, with no task token waiting, and resolved through the real API.
        const openItem = (type: 'plan_approval' | 'budget_approval', message: string, details: Record<string, unknown>) =>
          openInboxItem(platform.store.inbox, { type, runId, repo: sampleRepo, requester: 'local:tester', message, details });
        const planId = await openItem('plan_approval', 'Approve this plan?', {
          plan: '1. Read src/slugify.js\n2. Collapse separators <b>now</b>\n3. Run the tests',
        });
        // The budget item carries what the runner's pause writes (core/inbox/budget-approval.ts), plus a hostile extra field.
        const asked = budgetApprovalRequest({ budgetMicros: 1_000_000, spentMicros: 980_000 }, 270_000);
        const budgetId = await openItem('budget_approval', asked.message, {
          ...asked.details,
          reason: '<img src=x onerror="window.__pwned=1">',
        });

        await page.goto(`${platform.url}/inbox`);
        await pageReady(page, '/inbox');
        const plan = page.locator(`li.inbox-item[data-item-id="${planId}"]`);
        const budget = page.locator(`li.inbox-item[data-item-id="${budgetId}"]`);
        await plan.waitFor();
        await budget.waitFor();
        // Grouped by type, in the reviewer's order.
        await expect(page.locator('section.inbox-group:not([hidden]) h2').allTextContents()).resolves.toEqual([
          'Plans to approve (1 open)',
          'Budget approvals (1 open)',
        ]);
        await expect(plan.getByLabel(/The proposed plan/).inputValue()).resolves.toBe(
          '1. Read src/slugify.js\n2. Collapse separators <b>now</b>\n3. Run the tests',
        );
        await expect(budget.locator('dd.amount').textContent()).resolves.toBe('up to $0.27');
        await expect(budget.textContent()).resolves.toContain('$0.98');
        // Prefilled with the run's budget again, never less than the call that did not fit.
        await expect(budget.getByLabel('Extra budget (USD)').inputValue()).resolves.toBe('1.00');
        await expect(budget.locator('.inbox-details').textContent()).resolves.toContain('<img src=x onerror="window.__pwned=1">');
        await expectNothingRan(page);
        await expect(axeViolations(page)).resolves.toEqual([]);
        await screenshot(page, 'inbox-approvals');

        await plan.getByLabel(/The proposed plan/).fill('1. Read src/slugify.js\n2. Only collapse separators');
        const planPost = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/inbox/${planId}`));
        await plan.getByRole('button', { name: 'Approve plan' }).click();
        expect((await planPost).postDataJSON()).toEqual({ action: 'approve', plan: '1. Read src/slugify.js\n2. Only collapse separators' });
        await plan.locator('.resolution').filter({ hasText: 'Approved' }).waitFor();

        await budget.getByLabel('Extra budget (USD)').fill('0.75');
        const budgetPost = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/inbox/${budgetId}`));
        await budget.getByRole('button', { name: 'Approve budget' }).click();
        expect((await budgetPost).postDataJSON()).toEqual({ action: 'approve', extraBudgetUsd: 0.75 });
        await budget.locator('.resolution').filter({ hasText: 'Approved' }).waitFor();
        await expect(platform.store.inbox.get(budgetId)).resolves.toMatchObject({
          state: 'resolved',
          resolution: { action: 'approve', answer: null },
          resolvedBy: 'local:tester',
        });
        expect(fixture.browser.dialogs).toEqual([]);
      },
      long,
    );
  });
});
