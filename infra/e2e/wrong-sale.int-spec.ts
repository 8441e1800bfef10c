import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { seedDemo } from '../scripts/seed-demo';
import { call, expectStatus, lineUp, queueStatus, signUpAndLogIn, waitUntilActive, type Answer, type Fan } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Admitted for one sale only, as a fan meets it: all five services as processes, the demo seed's
 * sales. A fan admitted to one concert's sale cannot list, hold, cancel or pay for seats of another
 * concert (403 WRONG_SALE from the service that owns the date), and the same fan admitted to both
 * sales acts on each concert's seats with that concert's queue token only; paying ends exactly the
 * admission that paid.
 */

jest.setTimeout(120_000);

interface Schedule {
  scheduleId: string;
}

describe('admitted for one sale only, through the gateway (all services as processes)', () => {
  let system: RunningSystem | undefined;
  let api: string;

  beforeAll(async () => {
    system = await startSystem({ label: 'e2e_wrong_sale' });
    api = system.api;
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
  }, 100_000);

  afterAll(async () => {
    await system?.stop();
  });

  it("refuses every action on another concert's date with WRONG_SALE and changes nothing; each admission acts on its own concert", async () => {
    const concerts = expectStatus(await call<{ concerts: { concertId: string }[] }>(`${api}/concerts`), 200, 'concerts').body.concerts;
    const [concertA, concertB] = [concerts[0]!.concertId, concerts[1]!.concertId];
    const fan = await signUpAndLogIn(api, 'Dana');
    const dateOf = async (concertId: string) =>
      expectStatus(await call<{ schedules: Schedule[] }>(`${api}/concerts/${concertId}/schedules`, { fan }), 200, 'schedules').body.schedules[0]!.scheduleId;
    const [dateA, dateB] = [await dateOf(concertA), await dateOf(concertB)];

    // One fan, two admissions: one queue token per concert's room.
    const inA: Fan = { ...fan };
    const inB: Fan = { ...fan };
    await lineUp(api, inA, concertA);
    await lineUp(api, inB, concertB);
    await Promise.all([waitUntilActive(api, inA), waitUntilActive(api, inB)]);

    const expectWrongSale = (answer: Answer<object>, what: string, dateConcert: string, admittedFor: string) => {
      expectStatus(answer, 403, what);
      const body = answer.body as Record<string, unknown>;
      expect({ what, code: body.code, concertId: body.concertId, admittedFor: body.admittedFor }).toEqual({ what, code: 'WRONG_SALE', concertId: dateConcert, admittedFor });
    };

    // Seats of B's date with A's admission.
    expectWrongSale(await call(`${api}/schedules/${dateB}/seats`, { fan: inA }), 'seats of B with A', concertB, concertA);
    expectStatus(await call(`${api}/schedules/${dateA}/seats`, { fan: inA }), 200, 'seats of A with A');

    // A hold on A's date with B's admission is refused; with A's it is made (once the date has reached the reservation service).
    expectWrongSale(await call(`${api}/reservations`, { method: 'POST', fan: inB, body: { scheduleId: dateA, seatNo: 5 } }), 'hold on A with B', concertA, concertB);
    const held = expectStatus(
      await waitFor(
        async () => {
          const answer = await call<{ reservationId: string; price: number }>(`${api}/reservations`, { method: 'POST', fan: inA, body: { scheduleId: dateA, seatNo: 5 } });
          return answer.status === 404 ? undefined : answer;
        },
        { timeoutMs: 20_000, intervalMs: 100, label: 'the reservation service to know the seeded date' },
      ),
      201,
      'hold on A with A',
    ).body;

    // Cancelling and paying that hold with B's admission: refused, the hold stays, no money moves.
    expectStatus(await call(`${api}/wallet/charges`, { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: { amount: held.price } }), 201, 'charge');
    expectWrongSale(await call(`${api}/reservations/${held.reservationId}`, { method: 'DELETE', fan: inB }), 'cancel A’s hold with B', concertA, concertB);
    const payKey = randomUUID();
    const payWith = (admission: Fan) => call<{ status: string }>(`${api}/payments`, { method: 'POST', fan: admission, headers: { 'idempotency-key': payKey }, body: { reservationId: held.reservationId } });
    // The payment service learns the hold from an event: it may answer 503 HOLD_NOT_YET_KNOWN first.
    const refusedPay = await waitFor(async () => {
      const answer = await payWith(inB);
      return answer.status === 503 ? undefined : answer;
    }, { timeoutMs: 20_000, intervalMs: 200, label: 'the payment service to know the hold' });
    expectWrongSale(refusedPay, 'pay A’s hold with B', concertA, concertB);
    const reservations = expectStatus(await call<{ reservations: { reservationId: string; status: string }[] }>(`${api}/reservations`, { fan }), 200, 'reservations').body.reservations;
    expect(reservations.find((r) => r.reservationId === held.reservationId)?.status).toBe('HELD');
    expect(expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan }), 200, 'wallet').body.balance).toBe(held.price);

    // A's admission pays (the same key: the refusal wrote nothing); exactly that admission ends, B's stays.
    const paid = expectStatus(await payWith(inA), 201, 'pay with A');
    expect(paid.body.status).toBe('COMPLETED');
    await waitFor(async () => (await queueStatus(api, inA)).body.status === 'EXPIRED' || undefined, { timeoutMs: 20_000, intervalMs: 100, label: 'A’s admission ended by payment.completed' });
    expect(expectStatus(await queueStatus(api, inB), 200, 'B’s status').body.status).toBe('ACTIVE');
  });
});
