import { get } from 'node:http';
import type { Browser } from 'playwright-core';
import { seedDemo } from '../scripts/seed-demo';
import { launchBrowser, fanContext, PHONE, screenshot, visibleText } from './browser';
import { startSystem, type RunningSystem } from './system.harness';
import { availableSeats, joinLineAndWaitForTurn, seatNumberOf, signUpInBrowser } from './web-fan';

/**
 * The fan web app in Debian's Chromium, served by the gateway of a real system (five services,
 * PostgreSQL, Redis, Kafka) on the demo data: a new fan's whole purchase, two fans racing for one
 * seat, and a phone-sized screen used with the keyboard.
 */
describe('the web app: buying a seat', () => {
  let system: RunningSystem;
  let browser: Browser;
  const firstConcert = 'Midnight Echoes World Tour';

  beforeAll(async () => {
    [system, browser] = await Promise.all([startSystem({ label: 'e2e_web' }), launchBrowser()]);
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('is served by the gateway at / without shadowing the API', async () => {
    const page = await fetch(`${system.gatewayUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${system.gatewayUrl}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(script.headers.get('content-encoding')).toBe('gzip');
    const gzipped = await new Promise<number>((resolve, reject) =>
      get(`${system.gatewayUrl}${asset}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length)).on('end', () => resolve(bytes)).on('error', reject);
      }).on('error', reject),
    );
    console.log(`[web] ${asset}: ${gzipped} bytes on the wire (gzip), ${(await script.arrayBuffer()).byteLength} unpacked`);
    const unknownApi = await fetch(`${system.gatewayUrl}/api/v1/no-such-route`);
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(`${system.gatewayUrl}/api/docs/openapi.json`)).status).toBe(200);
  });

  it("a new fan's whole purchase: sign up, line, admitted, date, seat, hold, top up, pay, ticket", async () => {
    const context = await fanContext(browser, system.gatewayUrl);
    const page = await context.newPage();
    try {
      await page.goto('/');
      await page.getByRole('heading', { name: 'Concerts' }).waitFor();
      const firstPaint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
      console.log(`[web] first contentful paint of the concerts page: ${firstPaint === null ? 'n/a' : `${Math.round(firstPaint)} ms`}`);
      await screenshot(page, 'concerts');

      await page.getByRole('link', { name: firstConcert }).click();
      await page.getByRole('heading', { name: firstConcert }).waitFor();
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Your name').fill('Minji');
      await page.getByLabel('Email').fill(`minji-${Date.now()}@example.com`);
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      // Back on the concert's page, signed in.
      await page.getByRole('heading', { name: firstConcert }).waitFor();
      await joinLineAndWaitForTurn(page);
      await screenshot(page, 'dates');

      await page.getByRole('link', { name: /seats left/ }).first().click();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor();
      // A reload on the seat map keeps the fan on it.
      await page.reload();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor();
      const seat = availableSeats(page).first();
      const seatNo = await seatNumberOf(await seat.getAttribute('aria-label'));
      await screenshot(page, 'seat-map');
      await seat.click();
      await page.getByRole('heading', { name: `Seat ${seatNo}` }).waitFor();
      await page.getByRole('timer', { name: 'Time left on your hold' }).waitFor();

      // A reload on the hold keeps the fan on it (state from the API and the stored tokens).
      await page.reload();
      await page.getByRole('timer', { name: 'Time left on your hold' }).waitFor();
      await screenshot(page, 'hold');

      // An empty wallet: paying says so in words, with a way to top up.
      await page.getByRole('button', { name: /^Pay / }).click();
      await page.getByText('Not enough money in your wallet').waitFor();
      await page.getByRole('link', { name: 'Top up your wallet' }).click();
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();
      await page.getByRole('button', { name: 'Add money' }).click();
      // Back on the hold with the money in.
      await page.getByRole('timer', { name: 'Time left on your hold' }).waitFor();
      await page.getByRole('button', { name: /^Pay / }).click();
      await page.getByRole('heading', { name: `Paid — seat ${seatNo} is yours` }).waitFor();
      await screenshot(page, 'paid');

      await page.getByRole('link', { name: 'My tickets' }).first().click();
      await page.getByRole('heading', { name: `Ticket: seat ${seatNo}` }).waitFor();
      await screenshot(page, 'tickets');

      await page.getByRole('link', { name: 'Wallet' }).click();
      await page.reload();
      await page.getByRole('cell', { name: 'Payment' }).waitFor();
      expect(await page.getByRole('cell', { name: 'Top-up' }).count()).toBe(1);
      await screenshot(page, 'wallet');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('two fans race for one seat: one holds it, the other is told it is taken and picks another', async () => {
    const [a, b] = await Promise.all([fanContext(browser, system.gatewayUrl), fanContext(browser, system.gatewayUrl)]);
    const [pageA, pageB] = await Promise.all([a.newPage(), b.newPage()]);
    try {
      const concertUrl = async (page: typeof pageA) => {
        await page.goto('/');
        await page.getByRole('link', { name: firstConcert }).click();
        await page.getByRole('heading', { name: firstConcert }).waitFor();
        return page.url();
      };
      const url = await concertUrl(pageA);
      const next = new URL(url).hash.slice(1);
      await Promise.all([signUpInBrowser(pageA, 'Ara', next), signUpInBrowser(pageB, 'Bora', next)]);
      await Promise.all([joinLineAndWaitForTurn(pageA), joinLineAndWaitForTurn(pageB)]);
      await Promise.all([pageA, pageB].map((p) => p.getByRole('link', { name: /seats left/ }).first().click()));
      await Promise.all([pageA, pageB].map((p) => p.getByRole('heading', { name: 'Pick a seat' }).waitFor()));

      const seatNo = await seatNumberOf(await availableSeats(pageA).first().getAttribute('aria-label'));
      const seatOf = (p: typeof pageA, n: number) => p.getByRole('button', { name: new RegExp(`^Seat ${n}, `) });
      await Promise.all([seatOf(pageA, seatNo).click(), seatOf(pageB, seatNo).click()]);

      const outcome = (p: typeof pageA) =>
        Promise.race([
          p.getByRole('heading', { name: `Seat ${seatNo}` }).waitFor().then(() => 'held' as const),
          p.getByText(`Seat ${seatNo} was just taken by someone else`).waitFor().then(() => 'taken' as const),
        ]);
      const [outA, outB] = await Promise.all([outcome(pageA), outcome(pageB)]);
      expect([outA, outB].sort()).toEqual(['held', 'taken']);
      const loser = outA === 'taken' ? pageA : pageB;
      await screenshot(loser, 'seat-taken');

      // The loser's map shows the seat taken (no reload), and another seat can be held.
      await loser.getByRole('button', { name: new RegExp(`^Seat ${seatNo}, .*, held by someone$`) }).waitFor();
      const other = availableSeats(loser).first();
      const otherNo = await seatNumberOf(await other.getAttribute('aria-label'));
      expect(otherNo).not.toBe(seatNo);
      await other.click();
      await loser.getByRole('heading', { name: `Seat ${otherNo}` }).waitFor();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 120_000);

  it('works on a 360 px wide phone, with the keyboard alone', async () => {
    const context = await fanContext(browser, system.gatewayUrl, PHONE);
    const page = await context.newPage();
    const noSideways = async (what: string) => {
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      if (width > PHONE.width) throw new Error(`${what}: the page is ${width} px wide on a ${PHONE.width} px screen`);
    };
    try {
      await page.goto('/');
      await page.getByRole('heading', { name: 'Concerts' }).waitFor();
      await noSideways('concerts');
      await signUpInBrowser(page, 'Jisoo');
      await page.getByRole('link', { name: firstConcert }).click();
      await noSideways('concert');
      await joinLineAndWaitForTurn(page);
      await page.getByRole('link', { name: /seats left/ }).first().focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor();
      await availableSeats(page).first().waitFor();
      await noSideways('seat map');
      // Every seat is a button big enough for a finger.
      const smallest = await availableSeats(page).evaluateAll((els) => Math.min(...els.map((e) => Math.min(e.getBoundingClientRect().width, e.getBoundingClientRect().height))));
      expect(smallest).toBeGreaterThanOrEqual(40);
      await screenshot(page, 'phone-seat-map');

      const seat = availableSeats(page).first();
      const seatNo = await seatNumberOf(await seat.getAttribute('aria-label'));
      await seat.focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: `Seat ${seatNo}` }).waitFor();
      await noSideways('hold');
      await page.getByRole('button', { name: 'Cancel hold' }).focus();
      await page.keyboard.press('Enter');
      await page.getByText(`Your hold on seat ${seatNo} is cancelled`).waitFor();
      await page.getByRole('button', { name: new RegExp(`^Seat ${seatNo}, .*, available$`) }).waitFor();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);
});
