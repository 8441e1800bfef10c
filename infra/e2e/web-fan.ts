import type { Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';

/** What a fan does in the web app, by visible labels and roles only (as someone else's script would). */
export async function signUpInBrowser(page: Page, name: string, next = '/'): Promise<string> {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  await page.goto(`/#/signup?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('Your account is ready').waitFor();
  return email;
}

/**
 * From a concert's page: join its line, and wait (without reloading) until it is the fan's turn:
 * the dates, or the seat map straight away when the concert has one date.
 */
export async function joinLineAndWaitForTurn(page: Page, timeoutMs = 30_000): Promise<void> {
  await page.getByRole('button', { name: 'Join the line' }).click();
  await page.getByRole('heading', { name: /^(It is your turn|Pick a seat)/ }).waitFor({ timeout: timeoutMs });
}

/** The seat buttons the fan can pick now. */
export function availableSeats(page: Page) {
  return page.getByRole('group', { name: 'Seat map' }).getByRole('button', { name: /, available$/ });
}

export async function seatNumberOf(label: string | null): Promise<number> {
  const match = /^Seat (\d+),/.exec(label ?? '');
  if (!match) throw new Error(`not a seat button: ${label}`);
  return Number(match[1]);
}
