import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (package `chromium`), which `scripts/ensure-chromium.sh` installs. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a quiet, headless Chromium inside a container: no sandbox (no user namespaces in CI),
 * no GPU, and none of the background traffic (updates, sync, QUIC probes) an offline machine
 * would only wait on.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches headless Chromium through playwright-core. Each launch runs on a fresh temporary
 * profile (user-data-dir) that Playwright creates and removes on `close()`; each test should
 * still open its own `browser.newContext()` for its own cookies and downloads.
 *
 * Fails, rather than skips, when Chromium is missing: the browser tests are part of the suite.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the dashboard's browser tests need it. ` +
        'Install it with scripts/ensure-chromium.sh (Debian package `chromium`).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}
