import { useComputed, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, ApiProblem, newIdempotencyKey, ok, toProblem, type Payment, type Reservation } from '../api/client';
import { now, secondsUntil } from '../lib/clock';
import { clock, won } from '../lib/format';
import { sendBackIfGone } from '../lib/place-gone';
import { href, navigate } from '../lib/router';
import { queueHeaders, storeQueueToken, tell, userHeaders } from '../lib/store';
import { ErrorText, Loading, Title } from '../lib/ui';

type Outcome =
  | { kind: 'paying' }
  | { kind: 'processing'; paymentId?: string }
  | { kind: 'paid'; payment: Payment }
  | { kind: 'short'; price: number; balance: number | null }
  | { kind: 'expired'; refunded: boolean }
  | { kind: 'failed'; error: unknown };

/** The payment key of this hold's current attempt: kept across retries and reloads, dropped once answered for good. */
const keyName = (reservationId: string) => `tickets.pay.${reservationId}`;

export async function findReservation(reservationId: string): Promise<Reservation | null> {
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const list = await ok(api.GET('/api/v1/reservations', { params: { query: { limit: 100, cursor } }, headers: userHeaders() }));
    const found = list.reservations.find((r) => r.reservationId === reservationId);
    if (found) return found;
    if (!list.nextCursor) return null;
    cursor = list.nextCursor;
  }
  return null;
}

/** A hold: its countdown, cancel, and pay with every outcome in plain words. */
export function HoldScreen({ concertId, reservationId }: { concertId: string; reservationId: string }) {
  const reservation = useSignal<Reservation | null>(null);
  const balance = useSignal<number | null>(null);
  const error = useSignal<unknown>(null);
  const outcome = useSignal<Outcome | null>(null);
  const here = `/concerts/${concertId}/holds/${reservationId}`;
  const left = useComputed(() => secondsUntil(reservation.value?.holdExpiresAt, now.value));

  async function load() {
    try {
      const [r, w] = await Promise.all([findReservation(reservationId), ok(api.GET('/api/v1/wallet', { headers: userHeaders() }))]);
      reservation.value = r;
      balance.value = w.balance;
      if (!r) error.value = new ApiProblem(404, 'NOT_FOUND', 'no such reservation');
      // A reload while a payment was under way: ask again with the same key (the first answer comes back).
      else if (r.status === 'HELD' && sessionStorage.getItem(keyName(reservationId))) void pay();
    } catch (e) {
      if (!sendBackIfGone(e, concertId, here)) error.value = e;
    }
  }
  useEffect(() => void load(), [reservationId]);

  async function waitFor(paymentId: string): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      const p = await ok(api.GET('/api/v1/payments/{paymentId}', { params: { path: { paymentId } }, headers: userHeaders() }));
      if (p.status === 'COMPLETED') return finish({ kind: 'paid', payment: p });
      if (p.status === 'FAILED') {
        if (p.failureReason === 'INSUFFICIENT_BALANCE') return finish({ kind: 'short', price: p.amount, balance: null });
        if (p.failureReason === 'HOLD_EXPIRED') return finish({ kind: 'expired', refunded: p.refunded });
        return finish({ kind: 'failed', error: new ApiProblem(409, p.failureReason ?? 'CONFLICT', 'the payment failed') });
      }
    }
  }

  function finish(o: Outcome) {
    sessionStorage.removeItem(keyName(reservationId));
    outcome.value = o;
    if (o.kind === 'paid') {
      // Paying ends the fan's turn: the slot goes to the next fan, the token is spent.
      storeQueueToken(concertId, null);
      reservation.value = reservation.peek() && { ...reservation.peek()!, status: 'SOLD', paymentId: o.payment.paymentId };
    }
  }

  async function pay(): Promise<void> {
    let key = sessionStorage.getItem(keyName(reservationId));
    if (!key) sessionStorage.setItem(keyName(reservationId), (key = newIdempotencyKey()));
    outcome.value = { kind: 'paying' };
    for (;;) {
      const { data, error: problem, response } = await api
        .POST('/api/v1/payments', { body: { reservationId }, params: { header: { 'Idempotency-Key': key } }, headers: queueHeaders(concertId) })
        .catch(() => ({ data: undefined, error: undefined, response: null }));
      if (!response) {
        outcome.value = { kind: 'failed', error: new ApiProblem(0, 'NETWORK', '') };
        return; // the key is kept: pressing Pay again asks again with it
      }
      if (response.status === 201 && data) return finish({ kind: 'paid', payment: data });
      if (response.status === 202 && data) {
        outcome.value = { kind: 'processing', paymentId: data.paymentId };
        return waitFor(data.paymentId).catch((e) => void (outcome.value = { kind: 'failed', error: e }));
      }
      const p = toProblem(response, problem);
      if (p.code === 'HOLD_NOT_YET_KNOWN' || p.code === 'IDEMPOTENCY_KEY_IN_FLIGHT') {
        outcome.value = { kind: 'processing' };
        await new Promise((r) => setTimeout(r, (p.retryAfterSeconds ?? 1) * 1_000));
        continue;
      }
      if (p.code === 'INSUFFICIENT_BALANCE') return finish({ kind: 'short', price: reservation.peek()?.price ?? 0, balance: balance.peek() });
      if (p.code === 'HOLD_EXPIRED') return finish({ kind: 'expired', refunded: p.body.refunded === true });
      sessionStorage.removeItem(keyName(reservationId));
      if (sendBackIfGone(p, concertId, here)) return;
      outcome.value = { kind: 'failed', error: p };
      return;
    }
  }

  async function cancel() {
    try {
      await ok(api.DELETE('/api/v1/reservations/{reservationId}', { params: { path: { reservationId } }, headers: queueHeaders(concertId) }));
      tell(`Your hold on seat ${reservation.peek()?.seatNo} is cancelled. The seat is free again.`);
      navigate(`/concerts/${concertId}/dates/${reservation.peek()?.scheduleId}`);
    } catch (e) {
      if (!sendBackIfGone(e, concertId, here)) error.value = e;
    }
  }

  const r = reservation.value;
  const o = outcome.value;
  if (!r) {
    return (
      <section>
        <Title>Your seat</Title>
        <ErrorText error={error.value} />
        {!error.value && <Loading what="your hold" />}
      </section>
    );
  }
  const expired = (r.status === 'HELD' && left.value === 0) || r.status === 'EXPIRED' || o?.kind === 'expired';
  const back = `/concerts/${concertId}/dates/${r.scheduleId}`;
  return (
    <section>
      <Title>Seat {r.seatNo}</Title>
      <p class="lede">{won(r.price)}</p>
      {r.status === 'SOLD' || o?.kind === 'paid' ? (
        <div class="panel ticket" role="status">
          <h2>Paid — seat {r.seatNo} is yours</h2>
          <p>Your ticket is in <a href={href('/tickets')}>My tickets</a>. Your turn in the line has ended so that the next fan can buy.</p>
        </div>
      ) : expired ? (
        <div class="panel" role="alert">
          <h2>Your hold has expired</h2>
          <p>
            The time to pay for seat {r.seatNo} ran out, so the seat went back on sale.
            {o?.kind === 'expired' && o.refunded ? ' Any money taken has been refunded to your wallet.' : ''}
          </p>
          <p>
            <a class="button primary" href={href(back)}>
              Pick a seat again
            </a>
          </p>
        </div>
      ) : r.status === 'CANCELLED' ? (
        <div class="panel">
          <p>You cancelled this hold.</p>
          <a class="button" href={href(back)}>
            Pick a seat
          </a>
        </div>
      ) : (
        <div class="panel">
          <p class="countdown">
            Held for you for <strong class="figure" role="timer" aria-label="Time left on your hold">{clock(left.value)}</strong>
          </p>
          <p>Wallet balance: {balance.value === null ? '…' : won(balance.value)}</p>
          {o?.kind === 'short' && (
            <p role="alert" class="error">
              Not enough money in your wallet: the seat costs {won(o.price)}
              {o.balance !== null ? ` and your wallet has ${won(o.balance)}` : ''}.{' '}
              <a href={href(`/wallet?return=${encodeURIComponent(`/concerts/${concertId}/holds/${reservationId}`)}&need=${Math.max(0, o.price - (o.balance ?? 0))}`)}>Top up your wallet</a>, then pay.
            </p>
          )}
          {o?.kind === 'processing' && (
            <p role="status">Your payment is still processing. This page shows the result as soon as it is known.</p>
          )}
          {o?.kind === 'failed' && <ErrorText error={o.error} />}
          <ErrorText error={error.value} />
          <p class="actions">
            <button type="button" class="primary" disabled={o?.kind === 'paying' || o?.kind === 'processing'} onClick={() => void pay()}>
              Pay {won(r.price)}
            </button>
            <button type="button" onClick={() => void cancel()} disabled={o?.kind === 'paying' || o?.kind === 'processing'}>
              Cancel hold
            </button>
          </p>
        </div>
      )}
    </section>
  );
}
