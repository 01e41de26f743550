import type { LaunchOptions } from 'playwright-core';

/** Debian's Chromium (NIGHTSHIFT_CHROMIUM elsewhere), as the console's browser tests and its benchmark drive it. */
export const chromiumPath = process.env.NIGHTSHIFT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Chromium for playwright-core, headless and kept off the network (no component updates, no
 * background requests), so that what a page loads is only what the console serves.
 */
export const headlessChromium = {
  executablePath: chromiumPath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--disable-quic',
    '--disable-dev-shm-usage',
  ],
} satisfies LaunchOptions;
