import { waitFor } from '@ticketing/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { seedDemo } from '../scripts/seed-demo';
import { call, configureSale, expectStatus, lineUp, queueStatus, signUpAndLogIn, waitUntilActive, type Fan } from './fan-client';
import { SpanKind, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Issue 5 item 3: a whole purchase through the gateway with all five services as real processes,
 * and the proof that it is one trace. One slot in the concert's sale (maxActive 1), so the
 * second fan waits until the first has paid.
 */

jest.setTimeout(180_000);

interface Schedule {
  scheduleId: string;
  seatCount: number;
  availableSeats: number;
}
interface Seat {
  seatNo: number;
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
  price: number;
}
interface PaymentView {
  paymentId: string;
  reservationId: string;
  status: string;
  amount: number;
  failureReason: string | null;
  refunded: boolean;
  stalled: boolean;
  createdAt: string;
  updatedAt: string;
}
interface LedgerEntry {
  kind: 'CHARGE' | 'DEBIT' | 'REFUND';
  amount: number;
  balanceAfter: number;
  paymentId: string | null;
  idempotencyKey: string | null;
}

/** The same fan without the queue token: for `user` routes, which need only the session. */
const sessionOnly = (fan: Fan): Fan => ({ ...fan, queueToken: undefined });

describe('checkout through the gateway (all services as processes)', () => {
  let otlp: OtlpReceiver | undefined;
  let system: RunningSystem | undefined;
  let api: string;
  let concertId: string;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    system = await startSystem({
      label: 'e2e_checkout',
      otlpEndpoint: otlp.url,
      env: {
        // Room for a slow machine: this test is about the outcome, not the latency, so POST /payments
        // may wait longer than usual for the saga (and the gateway for POST /payments) before settling for a 202.
        'queue-gateway': { UPSTREAM_TIMEOUT_MS: '30000' },
        payment: { PAYMENT_SYNC_WAIT_MS: '15000', HOLD_LOOKUP_WAIT_MS: '10000' },
      },
    });
    api = system.api;
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
    // One slot in the first concert's sale.
    const concerts = expectStatus(await call<{ concerts: { concertId: string }[] }>(`${api}/concerts`), 200, 'concerts').body.concerts;
    concertId = concerts[0]!.concertId;
    await configureSale(api, system.adminKey, concertId, { maxActive: 1 });
  }, 100_000);

  afterAll(async () => {
    await system?.stop();
    await otlp?.stop();
  });

  it('sells a held seat from the wallet, frees the slot for the next fan, and is one trace across all five services', async () => {
    const [first, second] = await Promise.all([signUpAndLogIn(api, 'First'), signUpAndLogIn(api, 'Second')]);

    // One slot: the first fan is admitted, the second waits behind them.
    await lineUp(api, first, concertId);
    await waitUntilActive(api, first);
    const waiting = await lineUp(api, second, concertId);
    expect(waiting).toMatchObject({ status: 'WAITING', position: 1, concertId });

    // Dates and seats.
    const listSchedules = async () =>
      expectStatus(await call<{ schedules: Schedule[] }>(`${api}/concerts/${concertId}/schedules`, { fan: sessionOnly(first) }), 200, 'schedules').body.schedules;
    const schedule = (await listSchedules())[0]!;
    const listSeats = async (fan: Fan) =>
      expectStatus(await call<{ seats: Seat[] }>(`${api}/schedules/${schedule.scheduleId}/seats`, { fan }), 200, 'seats').body.seats;
    const seatNo = 3;
    const price = (await listSeats(first))[seatNo - 1]!.price;

    // The second fan is not admitted yet.
    const notYet = await call(`${api}/schedules/${schedule.scheduleId}/seats`, { fan: second });
    expect(notYet.status).toBe(403);
    expect(notYet.body).toMatchObject({ code: 'NOT_ADMITTED', position: 1 });

    // Hold (the reservation service may still be reading the date from Kafka: retry only its 404).
    const hold = await waitFor(
      async () => {
        const answer = await call<{ reservationId: string; status: string; price: number }>(`${api}/reservations`, {
          method: 'POST',
          fan: first,
          body: { scheduleId: schedule.scheduleId, seatNo },
        });
        return answer.status === 404 ? undefined : answer;
      },
      { timeoutMs: 30_000, intervalMs: 100, label: 'the reservation service to know the seeded date' },
    );
    expectStatus(hold, 201, 'hold');
    expect(hold.body).toMatchObject({ status: 'HELD', price });
    const { reservationId } = hold.body;

    // Charge the wallet.
    const chargeAmount = price + 50_000;
    const chargeKey = randomUUID();
    const charge = expectStatus(
      await call<{ balance: number; amount: number }>(`${api}/wallet/charges`, {
        method: 'POST',
        fan: sessionOnly(first),
        headers: { 'idempotency-key': chargeKey },
        body: { amount: chargeAmount },
      }),
      201,
      'charge',
    );
    expect(charge.body).toMatchObject({ amount: chargeAmount, balance: chargeAmount });

    // Pay, sending a trace context of our own: the gateway must not follow it (an outside caller does
    // not choose the trace id), but keep it as an attribute; the answer names the trace it made.
    const clientTraceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const pay = await call<PaymentView>(`${api}/payments`, {
      method: 'POST',
      fan: first,
      headers: { 'idempotency-key': randomUUID(), traceparent: clientTraceparent },
      body: { reservationId },
    });
    expectStatus(pay, 201, 'payment');
    const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(pay.headers?.get('traceresponse') ?? '')?.[1] ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(clientTraceparent).not.toContain(traceId);
    expect(pay.body).toMatchObject({ reservationId, status: 'COMPLETED', amount: price, failureReason: null, refunded: false, stalled: false });
    expect(pay.body.paymentId).toEqual(expect.any(String));
    const { paymentId } = pay.body;
    const fetched = expectStatus(await call<PaymentView>(`${api}/payments/${paymentId}`, { fan: sessionOnly(first) }), 200, 'GET payment');
    expect(fetched.body).toEqual(pay.body);

    // Money: charge − price, and the ledger says why.
    const wallet = expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan: sessionOnly(first) }), 200, 'wallet');
    expect(wallet.body.balance).toBe(chargeAmount - price);
    const ledger = expectStatus(await call<{ transactions: LedgerEntry[] }>(`${api}/wallet/transactions`, { fan: sessionOnly(first) }), 200, 'ledger').body.transactions;
    expect(ledger).toHaveLength(2);
    expect(ledger).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'CHARGE', amount: chargeAmount, balanceAfter: chargeAmount, idempotencyKey: chargeKey }),
        expect.objectContaining({ kind: 'DEBIT', amount: price, balanceAfter: chargeAmount - price, paymentId }),
      ]),
    );

    // The reservation is SOLD, for this payment.
    const mine = expectStatus(await call<{ reservations: { reservationId: string; status: string; paymentId: string | null }[] }>(`${api}/reservations`, { fan: sessionOnly(first) }), 200, 'reservations');
    expect(mine.body.reservations).toEqual([expect.objectContaining({ reservationId, status: 'SOLD', paymentId })]);

    // payment.completed ends the buyer's slot: status says EXPIRED, every other route refuses the token.
    await waitFor(async () => (await queueStatus(api, first)).body.status === 'EXPIRED', { timeoutMs: 20_000, intervalMs: 100, label: "the buyer's queue token expired" });
    const expired = await queueStatus(api, first);
    expect(expired.status).toBe(200);
    expect(expired.body).toMatchObject({ status: 'EXPIRED', position: null });
    const refused = await call(`${api}/schedules/${schedule.scheduleId}/seats`, { fan: first });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'QUEUE_TOKEN_EXPIRED' });

    // The freed slot goes to the fan who was waiting, who sees the seat SOLD (the listing is a read model: eventually).
    await waitUntilActive(api, second, 30_000);
    await waitFor(async () => (await listSeats(second))[seatNo - 1]!.status === 'SOLD', { timeoutMs: 20_000, intervalMs: 100, label: 'seat listed SOLD' });
    const tryTaken = await call(`${api}/reservations`, { method: 'POST', fan: second, body: { scheduleId: schedule.scheduleId, seatNo } });
    expect(tryTaken.status).toBe(409);
    expect(tryTaken.body).toMatchObject({ code: 'SEAT_UNAVAILABLE' });
    await waitFor(async () => (await listSchedules()).find((s) => s.scheduleId === schedule.scheduleId)?.availableSeats === schedule.seatCount - 1, {
      timeoutMs: 20_000,
      intervalMs: 100,
      label: 'availableSeats one less',
    });

    // One trace: every span of the checkout, from the gateway through the saga to the gateway's
    // payment.completed consumer, hangs under the gateway's span for the request we sent.
    const receiver = otlp!;
    const prefix = system!.topicPrefix;
    const hop = (topic: string, producer: string, consumer: string) => ({ topic: `${prefix}${topic}`, producer, consumer });
    const hops = [
      hop('wallet.debit-requested', 'payment', 'wallet'),
      hop('wallet.debited', 'wallet', 'payment'),
      hop('reservation.confirm-requested', 'payment', 'reservation'),
      hop('reservation.confirmed', 'reservation', 'payment'),
      hop('reservation.confirmed', 'reservation', 'concert-catalog'),
      hop('payment.completed', 'payment', 'queue-gateway'),
    ];
    const checkTrace = (spans: ReceivedSpan[]): string[] => {
      const problems: string[] = [];
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const describe = (s: ReceivedSpan) => `${s.service}: ${s.name}`;

      const roots = spans.filter((s) => !byId.has(s.parentSpanId));
      const root = roots.find((s) => s.service === 'queue-gateway' && s.kind === SpanKind.SERVER && s.name === 'POST /api/v1/payments');
      if (!root) problems.push("no gateway server span 'POST /api/v1/payments'");
      else if (root.parentSpanId !== '') problems.push(`the gateway's server span has parent ${root.parentSpanId}: it followed a client's trace context`);
      else if (root.attributes['client.traceparent'] !== clientTraceparent) problems.push(`the gateway's server span does not keep the client's traceparent (${String(root.attributes['client.traceparent'])})`);
      for (const orphan of roots.filter((s) => s !== root)) problems.push(`parent ${orphan.parentSpanId || '(none)'} of "${describe(orphan)}" is not in the trace`);

      const services = new Set(spans.map((s) => s.service));
      for (const service of ['queue-gateway', 'payment', 'wallet', 'reservation', 'concert-catalog']) {
        if (!services.has(service)) problems.push(`no span from ${service}`);
      }

      // The gateway forwards over HTTP: its client span is the parent of the payment service's server span.
      const paymentServer = spans.find((s) => s.service === 'payment' && s.kind === SpanKind.SERVER);
      const forward = paymentServer && byId.get(paymentServer.parentSpanId);
      if (!paymentServer) problems.push('no server span in the payment service');
      else if (!forward || forward.service !== 'queue-gateway' || forward.kind !== SpanKind.CLIENT) problems.push(`the payment service's server span is not a child of a gateway client span (parent: ${forward ? describe(forward) : 'missing'})`);

      // Each saga step goes through the outbox and Kafka: a producer span in the sender, a consumer span in the receiver as its child.
      for (const { topic, producer, consumer } of hops) {
        const consumed = spans.find((s) => s.service === consumer && s.kind === SpanKind.CONSUMER && s.name === `process ${topic}`);
        if (!consumed) {
          problems.push(`no consumer span "process ${topic}" in ${consumer}`);
          continue;
        }
        const sent = byId.get(consumed.parentSpanId);
        if (!sent || sent.kind !== SpanKind.PRODUCER || sent.service !== producer || sent.name !== `send ${topic}`) {
          problems.push(`"process ${topic}" in ${consumer} is not a child of "send ${topic}" in ${producer} (parent: ${sent ? describe(sent) : 'missing'})`);
        }
      }
      return problems;
    };

    let problems: string[] = ['no spans yet'];
    try {
      await waitFor(
        () => {
          problems = checkTrace(receiver.trace(traceId));
          return problems.length === 0;
        },
        { timeoutMs: 30_000, intervalMs: 200, label: 'the checkout trace to be complete' },
      );
    } catch {
      const spans = receiver.trace(traceId).map((s) => `${s.service} ${s.kind} ${s.name} ${s.spanId}<-${s.parentSpanId}`);
      throw new Error(`the checkout is not one whole trace:\n  ${problems.join('\n  ')}\nspans of trace ${traceId}:\n  ${spans.join('\n  ')}\nrejected exports: ${receiver.rejected().join('; ') || 'none'}`);
    }
    expect(receiver.rejected()).toEqual([]);
  });
});
