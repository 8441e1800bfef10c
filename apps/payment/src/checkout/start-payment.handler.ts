import { context, propagation, trace } from '@opentelemetry/api';
import type { PaymentView } from '@ticketing/contracts';
import { idTime, newId } from '@ticketing/db';
import { assertAdmittedFor, ProblemError, type CallerIdentity, type IdempotencyStore, type StoredAnswer } from '@ticketing/http';
import type { OutboxWriter } from '@ticketing/messaging';
import type { Knex } from 'knex';
import type { HoldArrivals } from '../holds/hold-arrivals';
import { payableHoldRepository as holds, type PayableHoldRow } from '../holds/payable-hold.repository';
import { paymentRepository as payments, toPaymentView, uniqueViolation, type PaymentRow } from './payment.repository';
import type { PaymentWaiter } from './payment-waiter';
import { sagaMessage } from './saga-events';
import type { SagaMetrics } from './saga.metrics';

export interface StartPaymentDeps {
  db: Knex;
  outbox: OutboxWriter;
  idempotency: IdempotencyStore;
  waiter: PaymentWaiter;
  /** Wakes a request whose hold this process's consumer has just recorded (else it re-reads with backoff). */
  holdArrivals?: HoldArrivals;
  sagaMetrics: SagaMetrics;
  syncWaitMs: number;
  holdLookupWaitMs: number;
  stepTimeoutMs: number;
  stallAfterMs: number;
}

export interface StartPaymentRequest {
  userId: string;
  /** The caller as the gateway signed it: the sale it was admitted to must be the hold's concert's. */
  caller: CallerIdentity;
  reservationId: string;
  idempotencyKey: string;
  fingerprint: string;
}

/**
 * Holds reach this service as events. One not here after the look-up's wait may still be on its way
 * when the reservation id (a version 7 uuid, minted by the reservation service) was made within this
 * window: that is a 503 with Retry-After, not a 404 telling the fan a hold they just made does not
 * exist (seen under overload, when events lag seconds). Only the wording of a refusal depends on it:
 * nothing is created, so a client that forges a recent id gains nothing.
 */
const HOLD_IN_TRANSIT_MS = 10 * 60_000;

function mayBeInTransit(reservationId: string, now = Date.now()): boolean {
  const madeAt = idTime(reservationId);
  return madeAt !== undefined && madeAt > now - HOLD_IN_TRANSIT_MS && madeAt < now + 60_000;
}

/** What POST /payments answers: the outcome when the saga ended in time, else 202 with the payment to poll. */
export function paymentAnswer(row: PaymentRow, stallAfterMs: number): StoredAnswer & { location?: string } {
  const view = toPaymentView(row, stallAfterMs);
  const location = `/api/v1/payments/${row.id}`;
  if (row.status === 'COMPLETED') return { status: 201, body: view, location };
  if (row.status !== 'FAILED') return { status: 202, body: view, location };
  const problem = failureProblem(view);
  return { status: problem.status, body: problem.toBody(), location };
}

function failureProblem(view: PaymentView): ProblemError {
  const refund = view.refunded ? ` Your ${view.amount} won were refunded to your wallet.` : '';
  const ext = { paymentId: view.paymentId, payment: view };
  switch (view.failureReason) {
    case 'INSUFFICIENT_BALANCE':
      return new ProblemError('INSUFFICIENT_BALANCE', `your wallet does not cover ${view.amount} won; charge it and pay again with a new Idempotency-Key`, ext);
    case 'ALREADY_SOLD':
    case 'NOT_HOLDER':
      return new ProblemError('SEAT_UNAVAILABLE', `the seat is no longer yours to buy.${refund}`, ext);
    default:
      return new ProblemError('HOLD_EXPIRED', `the hold ended before the seat could be confirmed.${refund}`, ext);
  }
}

/**
 * POST /api/v1/payments: starts the checkout saga for one of the caller's live holds and waits a
 * little for its outcome. The payment row and the wallet.debit-requested command commit together
 * (the saga is durable from the first moment); the Idempotency-Key's record points at the payment,
 * so a retry, even after a crash, answers from the payment rather than starting another one.
 */
export function createStartPaymentHandler(deps: StartPaymentDeps) {
  const { db, outbox, idempotency, waiter, sagaMetrics: metrics } = deps;

  async function findHold(reservationId: string): Promise<PayableHoldRow | undefined> {
    // The hold reaches this service as an event, usually within milliseconds of the 201 that made it.
    const deadline = Date.now() + deps.holdLookupWaitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      const next = deps.holdArrivals?.expect(reservationId, pause);
      const hold = await holds.find(db, reservationId);
      if (hold || Date.now() >= deadline) {
        next?.cancel();
        return hold;
      }
      await (next?.arrival ?? new Promise((r) => setTimeout(r, pause)));
    }
  }

  async function answerFor(paymentId: string) {
    return paymentAnswer(await waiter.waitForFinal(paymentId, deps.syncWaitMs), deps.stallAfterMs);
  }

  return async function startPayment(req: StartPaymentRequest): Promise<StoredAnswer & { location?: string }> {
    const outcome = await idempotency.begin(req.userId, req.idempotencyKey, req.fingerprint);
    if (outcome.kind === 'replay') {
      // The payment's state now, not a stale snapshot: a 202 answered earlier may have completed since.
      return outcome.resourceId ? paymentAnswer((await payments.find(db, outcome.resourceId))!, deps.stallAfterMs) : outcome.answer;
    }
    // A claim taken over from a request that died after creating its payment carries on with it.
    let paymentId = outcome.resourceId;
    if (!paymentId) {
      try {
        paymentId = (await createPayment(req, outcome.attach)).id;
      } catch (error) {
        // Refused (or failed) before a payment existed: nothing changed, so the key may be used again.
        await outcome.release().catch(() => undefined);
        throw error;
      }
    }
    const answer = await answerFor(paymentId);
    await outcome.complete(db, answer);
    return answer;
  };

  async function createPayment(req: StartPaymentRequest, attach: (trx: Knex.Transaction, id: string) => Promise<void>): Promise<PaymentRow> {
    const hold = await findHold(req.reservationId);
    if (!hold && mayBeInTransit(req.reservationId)) {
      throw new ProblemError(
        'HOLD_NOT_YET_KNOWN',
        `reservation ${req.reservationId} has not reached the payment service yet (holds arrive as events, usually within milliseconds); try again shortly with the same Idempotency-Key`,
      ).retryAfter(1);
    }
    // Someone else's hold is indistinguishable from a missing one.
    if (!hold || hold.user_id !== req.userId) throw new ProblemError('NOT_FOUND', `reservation ${req.reservationId} does not exist`);
    // Paying for a seat of another concert than the admitted sale's: refused before anything is written.
    assertAdmittedFor(req.caller, hold.concert_id);
    if (hold.status === 'CANCELLED' || hold.status === 'EXPIRED' || (hold.status === 'HELD' && hold.hold_expires_at.getTime() <= Date.now())) {
      throw new ProblemError('HOLD_EXPIRED', `reservation ${req.reservationId} is no longer held; hold the seat again`, { reservationStatus: hold.status === 'HELD' ? 'EXPIRED' : hold.status });
    }
    const id = newId();
    const traceContext: Record<string, string> = {};
    propagation.inject(context.active(), traceContext);
    try {
      const row = await db.transaction(async (trx) => {
        const created = await payments.insert(
          trx,
          {
            id,
            user_id: req.userId,
            reservation_id: req.reservationId,
            amount: hold.price,
            idempotency_key: req.idempotencyKey,
            trace_context: traceContext,
            correlation_id: id,
            sale_concert_id: req.caller.sale?.concertId ?? null,
            queue_ticket: req.caller.sale?.ticket ?? null,
          },
          deps.stepTimeoutMs,
        );
        await attach(trx, id);
        await outbox.append(trx, sagaMessage('wallet.debit-requested', created));
        return created;
      });
      metrics.started.inc();
      trace.getActiveSpan()?.setAttribute('payment.id', id);
      return row;
    } catch (error) {
      const index = uniqueViolation(error);
      if (index === 'payments_one_per_reservation') {
        const existing = await payments.findLiveForReservation(db, req.reservationId);
        throw new ProblemError(
          'DUPLICATE_PAYMENT',
          `reservation ${req.reservationId} already has a payment (${existing?.status ?? 'in progress'}); one payment per hold`,
          existing ? { paymentId: existing.id } : {},
        );
      }
      if (index === 'payments_user_key') {
        // The key's record was purged but the payment it made is still here: it is the answer.
        return (await payments.findByKey(db, req.userId, req.idempotencyKey))!;
      }
      throw error;
    }
  }
}
