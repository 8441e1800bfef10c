import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHROMIUM } from '../stack/web-app';

/**
 * Debian's Chromium driven by playwright-core (no browser download). The flags keep it off this
 * machine's closed network: without them it tries Google's hosts at every start.
 */
export async function launchBrowser(): Promise<Browser> {
  const problem = process.env.BROWSER_TESTS_SETUP_ERROR;
  if (problem) throw new Error(`browser tests cannot run: ${problem}`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync'],
  });
}

export const PHONE = { width: 360, height: 740 } as const;
export const DESKTOP = { width: 1100, height: 820 } as const;

/** A fan's own browser profile (cookies, localStorage), as a second person on another device. */
export async function fanContext(browser: Browser, baseURL: string, viewport: { width: number; height: number } = DESKTOP): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'en-GB', timezoneId: 'UTC' });
  context.setDefaultTimeout(20_000);
  return context;
}

/**
 * Screenshots of the main screens for the README, only when WEB_SCREENSHOTS names a folder
 * (e.g. `WEB_SCREENSHOTS=docs/screenshots`), so they come from the tests' own run.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.WEB_SCREENSHOTS;
  if (!dir) return;
  const folder = path.resolve(__dirname, '../..', dir);
  fs.mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: path.join(folder, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** The part of the page a fan reads as one block, for error messages. */
export async function visibleText(page: Page): Promise<string> {
  return (await page.locator('main').innerText().catch(() => '')).slice(0, 2000);
}
