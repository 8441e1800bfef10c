import { waitFor } from '@ticketing/testing';
import { SignJWT } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { seedDemo } from '../scripts/seed-demo';
import { call, expectStatus, lineUp, signUpAndLogIn, waitUntilActive, type Answer, type Fan } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Issue 5 item 5 (invariant 8, "nobody acts for another user") through the gateway, with all five
 * services as real processes. Fan A charges, holds two seats and pays for one. Fan B, admitted too,
 * tries every route on A's things with A's ids in paths and bodies, forged identity headers, A's
 * queue token beside B's own session, and the services' own ports without the gateway. Each attempt
 * must be refused (or answer with B's own data only), must not show B anything of A's, and must
 * change nothing of A's.
 */

jest.setTimeout(120_000);

interface PaymentView {
  paymentId: string;
  reservationId: string;
  status: string;
  amount: number;
}
interface LedgerEntry {
  kind: string;
  amount: number;
  paymentId: string | null;
  idempotencyKey: string | null;
}
interface ReservationView {
  reservationId: string;
  status: string;
  paymentId: string | null;
}

const sessionOnly = (fan: Fan): Fan => ({ ...fan, queueToken: undefined });

describe('authorization matrix: B cannot read or act on A’s wallet, holds or payments', () => {
  let system: RunningSystem | undefined;

  beforeAll(async () => {
    system = await startSystem({ label: 'e2e_authz' });
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
  }, 100_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('refuses B every route on A’s things, ignores forged identities, and leaves A’s money, holds and payment as they were', async () => {
    const sys = system!;
    const { api } = sys;
    const [a, b] = await Promise.all([signUpAndLogIn(sys.api, 'Alice'), signUpAndLogIn(sys.api, 'Bob')]);
    const concerts = expectStatus(await call<{ concerts: { concertId: string }[] }>(`${api}/concerts`), 200, 'concerts').body.concerts;
    await Promise.all([lineUp(api, a, concerts[0]!.concertId), lineUp(api, b, concerts[0]!.concertId)]);
    await Promise.all([waitUntilActive(api, a), waitUntilActive(api, b)]);

    // A's things: a charge, a hold that stays live, a hold that A pays for.
    const schedules = expectStatus(await call<{ schedules: { scheduleId: string }[] }>(`${api}/concerts/${concerts[0]!.concertId}/schedules`, { fan: sessionOnly(a) }), 200, 'schedules');
    const scheduleId = schedules.body.schedules[0]!.scheduleId;
    const holdAs = async (fan: Fan, seatNo: number) =>
      expectStatus(
        await waitFor(
          async () => {
            const answer = await call<{ reservationId: string; price: number }>(`${api}/reservations`, { method: 'POST', fan, body: { scheduleId, seatNo } });
            return answer.status === 404 ? undefined : answer; // the reservation service may still be reading the seeded dates
          },
          { timeoutMs: 20_000, intervalMs: 100, label: 'the reservation service to know the seeded date' },
        ),
        201,
        `hold seat ${seatNo}`,
      ).body;
    const chargeKeyA = randomUUID();
    expectStatus(await call(`${api}/wallet/charges`, { method: 'POST', fan: sessionOnly(a), headers: { 'idempotency-key': chargeKeyA }, body: { amount: 500_000 } }), 201, 'A charges');
    expectStatus(await call(`${api}/wallet/charges`, { method: 'POST', fan: sessionOnly(b), headers: { 'idempotency-key': randomUUID() }, body: { amount: 300_000 } }), 201, 'B charges');
    const paid = await holdAs(a, 11);
    const live = await holdAs(a, 12);
    const aQueueToken = a.queueToken!;

    // Every answer B gets is checked for A's ids; ids B itself put in the request may be echoed back.
    const aSecrets = [a.userId, a.email, a.session, aQueueToken, chargeKeyA, paid.reservationId, live.reservationId];
    const seenByB: { what: string; answer: Answer; sent: string[] }[] = [];
    const asB = async (what: string, url: string, options: Parameters<typeof call>[1] & { sent?: string[] }, status: number, code?: string) => {
      const answer = await call(url, options);
      seenByB.push({ what, answer, sent: options.sent ?? [] });
      if (answer.status !== status || (code && (answer.body as { code?: string }).code !== code)) {
        throw new Error(`${what}: expected ${status}${code ? ` ${code}` : ''}, got ${answer.status} ${answer.text}`);
      }
      return answer;
    };

    // While A's queue token is live: B's session with A's queue token is not A and not admitted.
    const withAsToken: Fan = { ...b, queueToken: aQueueToken };
    await asB('seats with A’s queue token', `${api}/schedules/${scheduleId}/seats`, { fan: withAsToken }, 401, 'QUEUE_TOKEN_INVALID');
    await asB('hold with A’s queue token', `${api}/reservations`, { method: 'POST', fan: withAsToken, body: { scheduleId, seatNo: 13 } }, 401, 'QUEUE_TOKEN_INVALID');
    await asB('cancel A’s hold with A’s queue token', `${api}/reservations/${live.reservationId}`, { method: 'DELETE', fan: withAsToken, sent: [live.reservationId] }, 401, 'QUEUE_TOKEN_INVALID');
    await asB('pay A’s hold with A’s queue token', `${api}/payments`, { method: 'POST', fan: withAsToken, headers: { 'idempotency-key': randomUUID() }, body: { reservationId: live.reservationId }, sent: [live.reservationId] }, 401, 'QUEUE_TOKEN_INVALID');
    await asB('queue status with A’s queue token', `${api}/queue/status`, { fan: withAsToken }, 401, 'QUEUE_TOKEN_INVALID');
    await asB('leave the line with A’s queue token', `${api}/queue/tokens/me`, { method: 'DELETE', fan: withAsToken }, 401, 'QUEUE_TOKEN_INVALID');
    // A's queue token alone, or with a forged session, is not enough either.
    await asB('A’s queue token without a session', `${api}/schedules/${scheduleId}/seats`, { headers: { 'x-queue-token': aQueueToken } }, 401, 'UNAUTHENTICATED');
    const forgedSession = `${a.session.split('.').slice(0, 2).join('.')}.${randomBytes(32).toString('base64url')}`;
    await asB('A’s session with a forged signature', `${api}/wallet`, { headers: { authorization: `Bearer ${forgedSession}` } }, 401);

    // A pays for one hold (A's slot ends with it).
    const pay = expectStatus(await call<PaymentView>(`${api}/payments`, { method: 'POST', fan: a, headers: { 'idempotency-key': randomUUID() }, body: { reservationId: paid.reservationId } }), 201, 'A pays');
    const paymentA = pay.body;
    aSecrets.push(paymentA.paymentId);
    expect(paymentA).toMatchObject({ status: 'COMPLETED', reservationId: paid.reservationId });

    const snapshotA = async () => {
      const wallet = expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan: sessionOnly(a) }), 200, 'A’s wallet').body;
      const ledger = expectStatus(await call<{ transactions: LedgerEntry[] }>(`${api}/wallet/transactions`, { fan: sessionOnly(a) }), 200, 'A’s ledger').body.transactions;
      const reservations = expectStatus(await call<{ reservations: ReservationView[] }>(`${api}/reservations`, { fan: sessionOnly(a) }), 200, 'A’s reservations').body.reservations;
      const payment = expectStatus(await call<PaymentView>(`${api}/payments/${paymentA.paymentId}`, { fan: sessionOnly(a) }), 200, 'A’s payment').body;
      return { wallet, ledger, reservations: [...reservations].sort((x, y) => x.reservationId.localeCompare(y.reservationId)), payment };
    };
    const before = await snapshotA();
    expect(before.wallet.balance).toBe(500_000 - paymentA.amount);
    expect(before.reservations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reservationId: paid.reservationId, status: 'SOLD', paymentId: paymentA.paymentId }),
        expect.objectContaining({ reservationId: live.reservationId, status: 'HELD' }),
      ]),
    );
    const bBalance = async () => expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan: sessionOnly(b) }), 200, 'B’s wallet').body.balance;
    let bExpected = 300_000;

    // A's payment, by id.
    await asB('read A’s payment', `${api}/payments/${paymentA.paymentId}`, { fan: sessionOnly(b), sent: [paymentA.paymentId] }, 404, 'NOT_FOUND');
    await asB('read A’s payment, admitted', `${api}/payments/${paymentA.paymentId}`, { fan: b, sent: [paymentA.paymentId] }, 404, 'NOT_FOUND');
    // Pay for A's holds (live and sold): as if they did not exist, and B's money stays.
    for (const reservationId of [live.reservationId, paid.reservationId]) {
      await asB('pay for A’s hold', `${api}/payments`, { method: 'POST', fan: b, headers: { 'idempotency-key': randomUUID() }, body: { reservationId }, sent: [reservationId] }, 404, 'NOT_FOUND');
    }
    await asB('pay with A’s user id in the body', `${api}/payments`, { method: 'POST', fan: b, headers: { 'idempotency-key': randomUUID() }, body: { reservationId: live.reservationId, userId: a.userId }, sent: [live.reservationId, a.userId] }, 400);
    // Cancel A's holds.
    await asB('cancel A’s live hold', `${api}/reservations/${live.reservationId}`, { method: 'DELETE', fan: b, sent: [live.reservationId] }, 404, 'NOT_FOUND');
    await asB('cancel A’s sold seat', `${api}/reservations/${paid.reservationId}`, { method: 'DELETE', fan: b, sent: [paid.reservationId] }, 404, 'NOT_FOUND');
    // Hold A's held or sold seat.
    await asB('hold A’s held seat', `${api}/reservations`, { method: 'POST', fan: b, body: { scheduleId, seatNo: 12 } }, 409, 'SEAT_UNAVAILABLE');
    await asB('hold A’s sold seat', `${api}/reservations`, { method: 'POST', fan: b, body: { scheduleId, seatNo: 11 } }, 409, 'SEAT_UNAVAILABLE');
    // B's own lists show B's own things only.
    const bWallet = await asB('B’s wallet', `${api}/wallet`, { fan: sessionOnly(b) }, 200);
    expect(bWallet.body).toMatchObject({ balance: bExpected });
    const bLedger = await asB('B’s ledger', `${api}/wallet/transactions`, { fan: sessionOnly(b) }, 200);
    expect((bLedger.body as { transactions: LedgerEntry[] }).transactions).toEqual([expect.objectContaining({ kind: 'CHARGE', amount: 300_000 })]);
    await asB('B’s ledger, asking for A’s', `${api}/wallet/transactions?userId=${a.userId}`, { fan: sessionOnly(b), sent: [a.userId] }, 400, 'VALIDATION_FAILED');
    const bReservations = await asB('B’s reservations', `${api}/reservations`, { fan: sessionOnly(b) }, 200);
    expect((bReservations.body as { reservations: unknown[] }).reservations).toEqual([]);
    // A charge carrying A's user id is refused as a whole: no money moves anywhere.
    for (const body of [{ amount: 7_000, userId: a.userId }, { amount: 7_000, user_id: a.userId }, { amount: 7_000, accountId: a.userId }]) {
      await asB('charge with A’s user id in the body', `${api}/wallet/charges`, { method: 'POST', fan: sessionOnly(b), headers: { 'idempotency-key': randomUUID() }, body, sent: [a.userId] }, 400, 'VALIDATION_FAILED');
    }

    // Forged identity headers through the gateway: replaced by the gateway's own, so B stays B.
    const forgedInternal = await new SignJWT({ acc: 'active' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('queue-gateway')
      .setAudience('ticketing-internal')
      .setSubject(a.userId)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(randomBytes(32));
    const unsignedInternal = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: a.userId, acc: 'active', iss: 'queue-gateway', aud: 'ticketing-internal' })).toString('base64url')}.`;
    const forgeries: Record<string, string>[] = [{ 'x-user-id': a.userId }, { 'x-internal-auth': forgedInternal }, { 'x-internal-auth': unsignedInternal }, { 'x-user-id': a.userId, 'x-internal-auth': forgedInternal }];
    for (const headers of forgeries) {
      const wallet = await asB('wallet with forged identity headers', `${api}/wallet`, { fan: sessionOnly(b), headers, sent: [a.userId] }, 200);
      expect(wallet.body).toMatchObject({ balance: bExpected });
      const ledger = await asB('ledger with forged identity headers', `${api}/wallet/transactions`, { fan: sessionOnly(b), headers, sent: [a.userId] }, 200);
      // B's own lines only: the first charge and one per forgery so far (all charges, none of A's).
      const lines = (ledger.body as { transactions: LedgerEntry[] }).transactions;
      expect(lines.map((l) => l.kind)).toEqual(lines.map(() => 'CHARGE'));
      expect(lines.reduce((sum, l) => sum + l.amount, 0)).toBe(bExpected);
      await asB('A’s payment with forged identity headers', `${api}/payments/${paymentA.paymentId}`, { fan: sessionOnly(b), headers, sent: [a.userId, paymentA.paymentId] }, 404, 'NOT_FOUND');
      await asB('cancel A’s hold with forged identity headers', `${api}/reservations/${live.reservationId}`, { method: 'DELETE', fan: b, headers, sent: [a.userId, live.reservationId] }, 404, 'NOT_FOUND');
      // A charge with forged headers is B's charge, into B's wallet.
      const charged = await asB('charge with forged identity headers', `${api}/wallet/charges`, { method: 'POST', fan: sessionOnly(b), headers: { ...headers, 'idempotency-key': randomUUID() }, body: { amount: 1_000 }, sent: [a.userId] }, 201);
      bExpected += 1_000;
      expect(charged.body).toMatchObject({ balance: bExpected });
      // Forged headers without any session: nobody.
      await asB('wallet with forged identity headers and no session', `${api}/wallet`, { headers, sent: [a.userId] }, 401, 'UNAUTHENTICATED');
    }

    // The services' own ports, without the gateway's signature: 401 whatever B sends.
    const direct = [
      { what: 'wallet', url: `${sys.urls.wallet}/api/v1/wallet`, method: 'GET' },
      { what: 'ledger', url: `${sys.urls.wallet}/api/v1/wallet/transactions`, method: 'GET' },
      { what: 'charge', url: `${sys.urls.wallet}/api/v1/wallet/charges`, method: 'POST', body: { amount: 1_000 } },
      { what: 'A’s payment', url: `${sys.urls.payment}/api/v1/payments/${paymentA.paymentId}`, method: 'GET' },
      { what: 'pay A’s hold', url: `${sys.urls.payment}/api/v1/payments`, method: 'POST', body: { reservationId: live.reservationId } },
      { what: 'cancel A’s hold', url: `${sys.urls.reservation}/api/v1/reservations/${live.reservationId}`, method: 'DELETE' },
      { what: 'reservations', url: `${sys.urls.reservation}/api/v1/reservations`, method: 'GET' },
      { what: 'hold', url: `${sys.urls.reservation}/api/v1/reservations`, method: 'POST', body: { scheduleId, seatNo: 20 } },
      { what: 'seats', url: `${sys.urls['concert-catalog']}/api/v1/schedules/${scheduleId}/seats`, method: 'GET' },
    ];
    const directHeaders: Record<string, string>[] = [{}, { 'x-user-id': a.userId }, { 'x-internal-auth': forgedInternal }, { 'x-internal-auth': unsignedInternal }, { authorization: `Bearer ${b.session}`, 'x-queue-token': b.queueToken! }];
    for (const route of direct) {
      for (const headers of directHeaders) {
        await asB(`${route.what} straight to the service`, route.url, { method: route.method, headers: { ...headers, 'idempotency-key': randomUUID() }, body: route.body, sent: [a.userId, paymentA.paymentId, live.reservationId] }, 401, 'INTERNAL_AUTH_REQUIRED');
      }
    }

    // Nothing B saw carries A's ids (beyond the ones B itself put in that request).
    const leaks = seenByB.flatMap(({ what, answer, sent }) =>
      aSecrets
        .filter((secret) => !sent.includes(secret) && answer.text.includes(secret))
        .map((secret) => `${what} (${answer.status}) shows ${secret}: ${answer.text}`),
    );
    expect(leaks).toEqual([]);

    // Nothing of A's changed; B's money is B's charges only; B has no payment, A exactly one.
    const after = await snapshotA();
    expect(after).toEqual(before);
    expect(await bBalance()).toBe(bExpected);
    const payments = await sys.dbs.payment('payments').select('user_id', 'reservation_id', 'status');
    expect(payments).toEqual([{ user_id: a.userId, reservation_id: paid.reservationId, status: 'COMPLETED' }]);
    const reservationRows = await sys.dbs.reservation('reservations').whereIn('id', [paid.reservationId, live.reservationId]).orderBy('seat_no').select('id', 'user_id', 'status');
    expect(reservationRows).toEqual([
      { id: paid.reservationId, user_id: a.userId, status: 'SOLD' },
      { id: live.reservationId, user_id: a.userId, status: 'HELD' },
    ]);
    const aLedger = await sys.dbs.wallet('ledger').where({ user_id: a.userId }).orderBy('id').select('kind', 'amount');
    expect(aLedger).toEqual([
      { kind: 'CHARGE', amount: 500_000 },
      { kind: 'DEBIT', amount: paymentA.amount },
    ]);

    // Control: A can do what B could not (the ids were right; the refusals were about who asked).
    await lineUp(api, a, concerts[0]!.concertId);
    await waitUntilActive(api, a);
    const cancelled = expectStatus(await call(`${api}/reservations/${live.reservationId}`, { method: 'DELETE', fan: a }), 200, 'A cancels A’s hold');
    expect(cancelled.body).toMatchObject({ reservationId: live.reservationId, status: 'CANCELLED' });
  });
});
