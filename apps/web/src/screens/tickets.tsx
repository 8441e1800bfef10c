import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, ok, type Reservation } from '../api/client';
import { when, won } from '../lib/format';
import { href, navigate } from '../lib/router';
import { concertOfHold, session, userHeaders } from '../lib/store';
import { ErrorText, Loading, Title } from '../lib/ui';

const STATUS = { HELD: 'Held, not paid yet', SOLD: 'Paid', EXPIRED: 'Hold expired', CANCELLED: 'Cancelled' } as const;

/** My tickets (paid seats) and my other reservations, newest first. */
export function TicketsScreen() {
  const list = useSignal<Reservation[] | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    if (!session.value) return navigate('/login?next=%2Ftickets', { replace: true });
    ok(api.GET('/api/v1/reservations', { params: { query: { limit: 100 } }, headers: userHeaders() })).then(
      (page) => (list.value = page.reservations),
      (e) => (error.value = e),
    );
  }, []);
  const tickets = list.value?.filter((r) => r.status === 'SOLD') ?? [];
  const others = list.value?.filter((r) => r.status !== 'SOLD') ?? [];
  return (
    <section>
      <Title>My tickets</Title>
      <ErrorText error={error.value} />
      {!list.value && !error.value && <Loading what="your tickets" />}
      {list.value && tickets.length === 0 && (
        <p>
          No tickets yet. <a href={href('/')}>Find a concert</a>
        </p>
      )}
      <ul class="cards">
        {tickets.map((r) => (
          <li key={r.reservationId} class="card ticket">
            <h2>Ticket: seat {r.seatNo}</h2>
            <p>
              {won(r.price)} · paid {when(r.updatedAt)}
            </p>
            <p class="muted">Reservation {r.reservationId}</p>
          </li>
        ))}
      </ul>
      {others.length > 0 && (
        <>
          <h2>Other reservations</h2>
          <ul class="plain">
            {others.map((r) => (
              <li key={r.reservationId}>
                Seat {r.seatNo}, {won(r.price)}: {STATUS[r.status]} ({when(r.createdAt)})
                {r.status === 'HELD' && concertOfHold(r.reservationId) && (
                  <>
                    {' '}
                    <a href={href(`/concerts/${concertOfHold(r.reservationId)}/holds/${r.reservationId}`)}>Pay or cancel</a>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
