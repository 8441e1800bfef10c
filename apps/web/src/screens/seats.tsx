import { signal, useSignal, type Signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { api, ApiProblem, ok, type Schedule, type Seat } from '../api/client';
import { inWords } from '../api/problems';
import { now, secondsUntil } from '../lib/clock';
import { clock, when, won } from '../lib/format';
import { sendBackIfGone } from '../lib/place-gone';
import { href, navigate } from '../lib/router';
import { queueHeaders, rememberHold, tell } from '../lib/store';
import { ErrorText, Loading, Title } from '../lib/ui';

/** How often the seat map asks for the seats' status (held and sold seats change without a reload). */
const REFRESH_MS = 2_000;
const WORD = { AVAILABLE: 'available', HELD: 'held by someone', SOLD: 'sold' } as const;

/** A live seat map: one signal per seat, so a seat that changes re-renders alone. */
export function SeatsScreen({ concertId, scheduleId }: { concertId: string; scheduleId: string }) {
  const seats = useRef(new Map<number, Signal<Seat>>());
  const order = useSignal<number[] | null>(null);
  const schedule = useSignal<Schedule | null>(null);
  const activeUntil = useSignal<string | null>(null);
  const error = useSignal<unknown>(null);
  const message = useSignal<string | null>(null);
  const busy = useSignal<number | null>(null);
  const here = `/concerts/${concertId}/dates/${scheduleId}`;

  async function refresh() {
    try {
      const list = await ok(api.GET('/api/v1/schedules/{scheduleId}/seats', { params: { path: { scheduleId } }, headers: queueHeaders(concertId) }));
      for (const seat of list.seats) {
        const known = seats.current.get(seat.seatNo);
        if (!known) seats.current.set(seat.seatNo, signal(seat));
        else if (known.peek().status !== seat.status || known.peek().price !== seat.price) known.value = seat;
      }
      if (order.peek()?.length !== list.seats.length) order.value = list.seats.map((s) => s.seatNo);
      error.value = null;
    } catch (e) {
      if (!sendBackIfGone(e, concertId, here)) error.value = e;
    }
  }

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    ok(api.GET('/api/v1/concerts/{concertId}/schedules', { params: { path: { concertId } }, headers: queueHeaders(concertId) })).then(
      (l) => (schedule.value = l.schedules.find((s) => s.scheduleId === scheduleId) ?? null),
      () => undefined,
    );
    ok(api.GET('/api/v1/queue/status', { headers: queueHeaders(concertId) })).then(
      (s) => (activeUntil.value = s.activeUntil),
      () => undefined,
    );
    return () => clearInterval(timer);
  }, [scheduleId]);

  async function hold(seatNo: number) {
    busy.value = seatNo;
    message.value = null;
    try {
      const held = await ok(api.POST('/api/v1/reservations', { body: { scheduleId, seatNo }, headers: queueHeaders(concertId) }));
      rememberHold(held.reservationId, concertId);
      tell(`Seat ${seatNo} is yours for the next few minutes. Pay before the time runs out.`);
      navigate(`/concerts/${concertId}/holds/${held.reservationId}`);
    } catch (e) {
      if (sendBackIfGone(e, concertId, here)) return;
      message.value = e instanceof ApiProblem && e.code === 'SEAT_UNAVAILABLE' ? `Seat ${seatNo} was just taken by someone else. Please pick another seat.` : inWords(e);
      void refresh();
    } finally {
      busy.value = null;
    }
  }

  const left = secondsUntil(activeUntil.value, now.value);
  return (
    <section>
      <p>
        <a href={href(`/concerts/${concertId}`)}>← Dates</a>
      </p>
      <Title>Pick a seat</Title>
      {schedule.value && <p class="lede">{when(schedule.value.startsAt)}</p>}
      {activeUntil.value && (
        <p>
          Time left to choose and pay: <strong class="figure">{clock(left)}</strong>
        </p>
      )}
      <p role="alert" class={message.value ? 'error' : 'empty'}>
        {message.value}
      </p>
      <ErrorText error={error.value} />
      {!order.value && !error.value && <Loading what="seats" />}
      {order.value && (
        <>
          <p class="legend" aria-hidden="true">
            <span class="swatch AVAILABLE" /> available <span class="swatch HELD" /> held <span class="swatch SOLD" /> sold
          </p>
          <div class="stage" aria-hidden="true">
            Stage
          </div>
          <div role="group" aria-label="Seat map" class="seat-map">
            {order.value.map((no) => (
              <SeatButton key={no} seat={seats.current.get(no)!} busy={busy} onPick={hold} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function SeatButton({ seat, busy, onPick }: { seat: Signal<Seat>; busy: Signal<number | null>; onPick(seatNo: number): void }) {
  const { seatNo, status, price } = seat.value;
  const free = status === 'AVAILABLE';
  return (
    <button
      type="button"
      class={`seat ${status}`}
      aria-label={`Seat ${seatNo}, ${won(price)}, ${WORD[status]}`}
      disabled={!free || busy.value !== null}
      onClick={() => onPick(seatNo)}
    >
      {seatNo}
    </button>
  );
}
