import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { headlessChromium } from '../../console/headless-chromium';
import { startTestPlatform, type TestPlatform } from '../local/platform-harness';

/** Debian's Chromium (console/headless-chromium.ts), with a fresh profile, for the console's browser tests. */
export { chromiumPath } from '../../console/headless-chromium';

/** Screenshots of each page, kept as test artifacts (gitignored). */
export const artifactsDir = join(__dirname, '..', '..', '.artifacts', 'console');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Every dialog (alert, confirm, prompt) the page opened; each is dismissed. */
  dialogs: string[];
  /** Errors thrown in the page and console errors, for diagnosis and assertions. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'ns-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    ...headlessChromium,
    viewport: { width: 1280, height: 900 },
    timeout: 120_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(120_000);
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  return {
    context,
    page,
    dialogs,
    pageErrors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's WCAG 2.1 A/AA rules on the page as it is. The source is evaluated through the DevTools
 * protocol (not a <script> tag), so the page's CSP stays as strict as it is for users.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(`${axeSource}\n;undefined`);
  // A string, not a function: this file is compiled without the DOM's types.
  return page.evaluate(`(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  })()`) as Promise<AxeViolation[]>;
}

/** Generous: the browser tests start a whole local platform and Chromium on a 2-core machine. */
export const CONSOLE_TEST_TIMEOUT_MS = 240_000;

export interface ConsoleFixture {
  readonly platform: TestPlatform;
  readonly browser: TestBrowser;
}

/**
 * A local platform serving the recorded session `session` (test/fixtures/sessions/<session>.jsonl)
 * and a fresh Chromium, for the tests of the describe block it is called in.
 */
export function useConsoleFixture(session: string, options: Omit<Parameters<typeof startTestPlatform>[0], 'session'> = {}): ConsoleFixture {
  let platform: TestPlatform | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    platform = await startTestPlatform({ ...options, session: join(__dirname, '..', 'fixtures', 'sessions', `${session}.jsonl`) });
    browser = await openBrowser();
  }, CONSOLE_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  }, CONSOLE_TEST_TIMEOUT_MS);
  return {
    get platform() {
      if (!platform) throw new Error('the console fixture is not started yet');
      return platform;
    },
    get browser() {
      if (!browser) throw new Error('the console fixture is not started yet');
      return browser;
    },
  };
}
