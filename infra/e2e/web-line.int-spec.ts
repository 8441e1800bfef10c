import type { Browser, Page } from 'playwright-core';
import { waitFor } from '@ticketing/testing';
import { fanContext, launchBrowser, screenshot, visibleText } from './browser';
import { call, expectStatus } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';
import { availableSeats, joinLineAndWaitForTurn, seatNumberOf, signUpInBrowser } from './web-fan';

const HOLD_TTL_SECONDS = 6;
const MINUTE = 60_000;

/**
 * The web app's line and hold in Debian's Chromium against a real system: a sale that admits one fan
 * at a time, so the others wait and are moved on by the server's events; holds of a few seconds.
 */
describe('the web app: the line and the hold', () => {
  let system: RunningSystem;
  let browser: Browser;

  /** A concert with one date of 10 seats and a sale as given, known to the gateway's waiting room. */
  async function concertOnSale(title: string, sale: { queueOpensAt: Date; saleOpensAt: Date; maxActive: number }): Promise<string> {
    const admin = { 'x-admin-key': system.adminKey };
    const { concertId } = expectStatus(
      await call<{ concertId: string }>(`${system.api}/admin/concerts`, { method: 'POST', headers: admin, body: { title, artist: 'The Testers', venue: 'Hall 1' } }),
      201,
      'create concert',
    ).body;
    const now = Date.now();
    expectStatus(
      await call(`${system.api}/admin/concerts/${concertId}/schedules`, {
        method: 'POST',
        headers: admin,
        body: { startsAt: new Date(now + 30 * 24 * 60 * MINUTE).toISOString(), bookingOpensAt: new Date(now - MINUTE).toISOString(), bookingClosesAt: new Date(now + 29 * 24 * 60 * MINUTE).toISOString(), seatCount: 10, price: 50_000 },
      }),
      201,
      'create date',
    );
    const body = { queueOpensAt: sale.queueOpensAt.toISOString(), saleOpensAt: sale.saleOpensAt.toISOString(), maxActive: sale.maxActive, admitPerMinute: 600, activeMinutes: 5, mode: 'queue' };
    expectStatus(await call(`${system.api}/admin/concerts/${concertId}/sale`, { method: 'PUT', headers: admin, body }), 200, 'configure sale');
    // The gateway learns the sale from sale.configured (Kafka): wait until its room answers.
    await waitFor(async () => (await call(`${system.api}/admin/waiting-rooms/${concertId}`, { headers: admin })).status === 200, { timeoutMs: 30_000, intervalMs: 200, label: `the gateway knows the sale of ${title}` });
    return concertId;
  }

  async function openConcert(page: Page, concertId: string, title: string) {
    await page.goto(`/#/concerts/${concertId}`);
    await page.getByRole('heading', { name: title }).waitFor();
  }

  beforeAll(async () => {
    [system, browser] = await Promise.all([
      // Short holds; and the payment service answers 202 at once, so the app shows a payment still processing.
      startSystem({ label: 'e2e_webline', env: { reservation: { HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS) }, payment: { PAYMENT_SYNC_WAIT_MS: '0' } } }),
      launchBrowser(),
    ]);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('before the sale: the opening time with a countdown, then the pre-queue until the draw', async () => {
    const later = await concertOnSale('Opens Later', { queueOpensAt: new Date(Date.now() + 20 * MINUTE), saleOpensAt: new Date(Date.now() + 30 * MINUTE), maxActive: 5 });
    const preQueue = await concertOnSale('Pre-queue Now', { queueOpensAt: new Date(Date.now() - MINUTE), saleOpensAt: new Date(Date.now() + 10 * MINUTE), maxActive: 5 });
    const context = await fanContext(browser, system.gatewayUrl);
    const page = await context.newPage();
    try {
      await signUpInBrowser(page, 'Early');
      await openConcert(page, later, 'Opens Later');
      await page.getByText(/The line opens in \d+:\d\d/).waitFor();
      expect(await page.getByRole('button', { name: 'Join the line' }).isDisabled()).toBe(true);
      await screenshot(page, 'before-sale');

      await openConcert(page, preQueue, 'Pre-queue Now');
      await page.getByRole('button', { name: 'Join the line' }).click();
      await page.getByText('given a place in a random order').waitFor();
      await page.getByText(/The sale opens at .*, in \d+:\d\d/).waitFor();
      await screenshot(page, 'pre-queue');
      // After a reload the fan is still in the pre-queue (the stored token, the status from the API).
      await page.reload();
      await page.getByText('given a place in a random order').waitFor();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a waiting fan is admitted without reloading when a slot frees, and the update only changes the line’s figures', async () => {
    const title = 'One At A Time';
    const concertId = await concertOnSale(title, { queueOpensAt: new Date(Date.now() - MINUTE), saleOpensAt: new Date(Date.now() - MINUTE), maxActive: 1 });
    const contexts = await Promise.all([0, 1, 2].map(() => fanContext(browser, system.gatewayUrl)));
    const [a, b, c] = await Promise.all(contexts.map((ctx) => ctx.newPage()));
    try {
      await Promise.all([signUpInBrowser(a, 'First'), signUpInBrowser(b, 'Second'), signUpInBrowser(c, 'Third')]);
      await openConcert(a, concertId, title);
      await joinLineAndWaitForTurn(a);
      await a.getByRole('heading', { name: 'Pick a seat' }).waitFor();
      // Back on the concert's page, admitted: the turn can be given up.
      await openConcert(a, concertId, title);
      await openConcert(b, concertId, title);
      await b.getByRole('button', { name: 'Join the line' }).click();
      await b.getByText('Your number in line: 1').waitFor();
      await c.evaluate("localStorage.setItem('tickets.countRenders', '1')");
      await openConcert(c, concertId, title);
      await c.reload();
      await c.getByRole('button', { name: 'Join the line' }).click();
      await c.getByText('Your number in line: 2').waitFor();
      // A reload in the line keeps the place (and the progress bar's start).
      await c.reload();
      await c.getByText('Your number in line: 2').waitFor();
      await screenshot(c, 'line');

      // Watch C's page while the line moves: which nodes change, and whether anything moves on screen.
      await b.evaluate('window.__sameDocument = true');
      await c.evaluate(`(() => {
        window.__componentRenders = 0;
        window.__changes = [];
        window.__shift = 0;
        new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value; }).observe({ type: 'layout-shift' });
        new MutationObserver((records) => {
          for (const r of records) {
            const el = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
            window.__changes.push({ type: r.type, inLine: !!el && !!el.closest('.line'), added: r.addedNodes.length, removed: r.removedNodes.length });
          }
        }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      })()`);

      await a.getByRole('button', { name: 'Give up my turn' }).click();
      await a.getByText('You left the line').waitFor();
      // B moves on by itself to the seat map (the concert has one date), in the same document: no reload.
      await b.getByRole('heading', { name: 'Pick a seat' }).waitFor({ timeout: 30_000 });
      await availableSeats(b).first().waitFor();
      expect(await b.evaluate('window.__sameDocument')).toBe(true);
      await c.getByText('Your number in line: 1').waitFor({ timeout: 30_000 });
      await c.getByText('You are next.').waitFor();

      const changes = (await c.evaluate('window.__changes')) as { type: string; inLine: boolean; added: number; removed: number }[];
      expect(changes.length).toBeGreaterThan(0);
      // Text and attributes of the line's figures changed; no element was added or removed, nothing outside the line.
      expect(changes.filter((m) => !m.inLine)).toEqual([]);
      expect(changes.filter((m) => m.type === 'childList' && (m.added > 0 || m.removed > 0))).toEqual([]);
      expect(await c.evaluate('window.__shift')).toBe(0);
      // And no component rendered again: the figures are signals bound into the markup.
      expect(await c.evaluate('window.__componentRenders')).toBe(0);
    } catch (error) {
      const said = await Promise.all([a, b, c].map(visibleText));
      throw new Error(`${(error as Error).message}\n--- the pages said:\n${said.map((t, i) => `[${'ABC'[i]}] ${t}`).join('\n')}`);
    } finally {
      await Promise.all(contexts.map((ctx) => ctx.close()));
    }
  }, 150_000);

  it('a hold runs out on screen, and the seat is free again', async () => {
    const title = 'Short Holds';
    const concertId = await concertOnSale(title, { queueOpensAt: new Date(Date.now() - MINUTE), saleOpensAt: new Date(Date.now() - MINUTE), maxActive: 5 });
    const context = await fanContext(browser, system.gatewayUrl);
    const page = await context.newPage();
    try {
      await signUpInBrowser(page, 'Slow');
      await openConcert(page, concertId, title);
      // One date: the app goes straight from the line to its seat map.
      await page.getByRole('button', { name: 'Join the line' }).click();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor({ timeout: 30_000 });
      const seat = availableSeats(page).first();
      const seatNo = await seatNumberOf(await seat.getAttribute('aria-label'));
      await seat.click();
      await page.getByRole('timer', { name: 'Time left on your hold' }).waitFor();
      await page.getByRole('heading', { name: 'Your hold has expired' }).waitFor({ timeout: (HOLD_TTL_SECONDS + 10) * 1_000 });
      await screenshot(page, 'hold-expired');
      await page.getByRole('link', { name: 'Pick a seat again' }).click();
      // The sweeper releases it within a second of its deadline; the map shows it without a reload.
      await page.getByRole('button', { name: new RegExp(`^Seat ${seatNo}, .*, available$`) }).waitFor({ timeout: 15_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a fan whose turn ended is brought back to the line with the reason, and can line up again', async () => {
    const title = 'Turn Ends';
    const concertId = await concertOnSale(title, { queueOpensAt: new Date(Date.now() - MINUTE), saleOpensAt: new Date(Date.now() - MINUTE), maxActive: 5 });
    const context = await fanContext(browser, system.gatewayUrl);
    const page = await context.newPage();
    try {
      await signUpInBrowser(page, 'Gone');
      await openConcert(page, concertId, title);
      await page.getByRole('button', { name: 'Join the line' }).click();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor({ timeout: 30_000 });
      // The turn ends outside this page (here: the fan's place is given up through the API with the stored tokens).
      const { session, queue } = (await page.evaluate(`({
        session: JSON.parse(localStorage.getItem('tickets.session')).token,
        queue: JSON.parse(localStorage.getItem('tickets.queue.${concertId}')).token,
      })`)) as { session: string; queue: string };
      expectStatus(await call(`${system.api}/queue/tokens/me`, { method: 'DELETE', headers: { authorization: `Bearer ${session}`, 'x-queue-token': queue } }), 204, 'leave');
      // The seat map's next look at the seats is refused: back on the concert's page, told why.
      await page.getByText('Join the line again').waitFor({ timeout: 15_000 });
      await page.getByRole('heading', { name: title }).waitFor();
      await screenshot(page, 'turn-ended');
      await page.getByRole('button', { name: 'Join the line' }).click();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor({ timeout: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a payment that takes a while is shown as still processing, then as paid', async () => {
    const title = 'Slow Checkout';
    const concertId = await concertOnSale(title, { queueOpensAt: new Date(Date.now() - MINUTE), saleOpensAt: new Date(Date.now() - MINUTE), maxActive: 5 });
    const context = await fanContext(browser, system.gatewayUrl);
    const page = await context.newPage();
    try {
      await signUpInBrowser(page, 'Patient');
      await page.getByRole('link', { name: 'Wallet' }).click();
      await page.getByRole('button', { name: 'Add money' }).click();
      await page.getByText('Your balance is 200,000 won').waitFor();
      await openConcert(page, concertId, title);
      await page.getByRole('button', { name: 'Join the line' }).click();
      await page.getByRole('heading', { name: 'Pick a seat' }).waitFor({ timeout: 30_000 });
      const seat = availableSeats(page).first();
      const seatNo = await seatNumberOf(await seat.getAttribute('aria-label'));
      await seat.click();
      await page.getByRole('button', { name: /^Pay / }).click();
      await page.getByText('Your payment is still processing').waitFor();
      await page.getByRole('heading', { name: `Paid — seat ${seatNo} is yours` }).waitFor({ timeout: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- the page said:\n${await visibleText(page)}`);
    } finally {
      await context.close();
    }
  }, 120_000);
});
