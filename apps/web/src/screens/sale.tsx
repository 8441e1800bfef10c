import { useComputed, useSignal, useSignalEffect, type Signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { api, ApiProblem, ok, type ConcertDetail, type QueueStatus, type Schedule } from '../api/client';
import { inWords, PLACE_GONE, SESSION_GONE } from '../api/problems';
import { now, secondsUntil } from '../lib/clock';
import { clock, waitInWords, when, won } from '../lib/format';
import { followLine, type LineFollower } from '../lib/line';
import { href, navigate, route } from '../lib/router';
import { queueHeaders, queueTokenFor, session, setSession, storeQueueToken, tell, userHeaders } from '../lib/store';
import { ErrorText, Loading, Title } from '../lib/ui';

/**
 * A concert's sale: before it the opening time and a countdown; in the line the position, the
 * wait and a progress bar, pushed by the server; once admitted, the dates with seats left.
 */
export function SaleScreen({ concertId }: { concertId: string }) {
  const concert = useSignal<ConcertDetail | null>(null);
  const error = useSignal<unknown>(null);
  const hasToken = useSignal(queueTokenFor(concertId) !== null);
  const joinedNow = useSignal(false);

  useEffect(() => {
    ok(api.GET('/api/v1/concerts/{concertId}', { params: { path: { concertId } } })).then(
      (c) => (concert.value = c),
      (e) => (error.value = e),
    );
  }, [concertId]);

  const c = concert.value;
  return (
    <section>
      <p>
        <a href={href('/')}>← All concerts</a>
      </p>
      <Title>{c ? c.title : 'Concert'}</Title>
      <ErrorText error={error.value} />
      {!c && !error.value && <Loading what="the concert" />}
      {c && (
        <>
          <p class="lede">
            {c.artist} · {c.venue}
          </p>
          {c.description && <p class="muted">{c.description}</p>}
          {!session.value ? (
            <SignInFirst concertId={concertId} sale={c.sale} />
          ) : hasToken.value ? (
            <Line concertId={concertId} joinedNow={joinedNow.peek()} onLeft={() => (hasToken.value = false)} />
          ) : (
            <JoinLine
              concertId={concertId}
              sale={c.sale}
              onJoined={() => {
                joinedNow.value = true;
                hasToken.value = true;
              }}
            />
          )}
        </>
      )}
    </section>
  );
}

function SaleTimes({ sale }: { sale: ConcertDetail['sale'] }) {
  if (!sale) return <p>Tickets for this concert are not on sale yet.</p>;
  return (
    <dl class="facts">
      <dt>Line opens</dt>
      <dd>{when(sale.queueOpensAt)}</dd>
      <dt>Sale opens</dt>
      <dd>{when(sale.saleOpensAt)}</dd>
    </dl>
  );
}

function SignInFirst({ concertId, sale }: { concertId: string; sale: ConcertDetail['sale'] }) {
  const next = encodeURIComponent(`/concerts/${concertId}`);
  return (
    <div class="panel">
      <SaleTimes sale={sale} />
      <p>Log in or create an account to join the line for tickets.</p>
      <p class="actions">
        <a class="button primary" href={href(`/login?next=${next}`)}>
          Log in
        </a>
        <a class="button" href={href(`/signup?next=${next}`)}>
          Create an account
        </a>
      </p>
    </div>
  );
}

function JoinLine({ concertId, sale, onJoined }: { concertId: string; sale: ConcertDetail['sale']; onJoined(): void }) {
  const busy = useSignal(false);
  const error = useSignal<unknown>(null);
  const opensIn = useComputed(() => (sale ? secondsUntil(sale.queueOpensAt, now.value) : 0));

  async function join() {
    busy.value = true;
    error.value = null;
    try {
      const entry = await ok(api.POST('/api/v1/queue/tokens', { body: { concertId }, headers: userHeaders() }));
      storeQueueToken(concertId, { token: entry.queueToken, userId: session.value!.userId, startPosition: entry.position });
      onJoined();
    } catch (e) {
      if (e instanceof ApiProblem && SESSION_GONE.has(e.code)) {
        setSession(null);
        tell(inWords(e), 'warn');
        navigate(`/login?next=${encodeURIComponent(`/concerts/${concertId}`)}`);
        return;
      }
      error.value = e;
    } finally {
      busy.value = false;
    }
  }

  const notYet = sale !== null && opensIn.value > 0;
  return (
    <div class="panel">
      <SaleTimes sale={sale} />
      {notYet && (
        <p class="countdown">
          The line opens in <strong class="figure">{clock(opensIn.value)}</strong>
        </p>
      )}
      <ErrorText error={error.value} />
      {sale && (
        <button type="button" class="primary" disabled={busy.value || notYet} onClick={join}>
          Join the line
        </button>
      )}
    </div>
  );
}

/** The fan's place in line, followed live; the dates once admitted. */
function Line({ concertId, joinedNow, onLeft }: { concertId: string; joinedNow: boolean; onLeft(): void }) {
  const follower = useRef<LineFollower | null>(null);
  if (!follower.current) follower.current = followLine(concertId);
  const line = follower.current;
  useEffect(() => () => line.stop(), [line]);

  // Only the kind of place decides which panel shows: position and ETA updates change text alone.
  const kind = useComputed(() => line.status.value?.status ?? null);
  // Admitted while on this page (or just joined): go on to the seat map by itself. A fan who comes
  // back here already admitted stays, to pick another date or give the turn up.
  const waitedHere = useRef(joinedNow);
  if (kind.value === 'WAITING' || kind.value === 'PRE_QUEUE') waitedHere.current = true;
  const problem = line.problem.value;

  useSignalEffect(() => {
    const p = line.problem.value;
    if (!p) return;
    if (SESSION_GONE.has(p.code)) {
      setSession(null);
      tell(inWords(p), 'warn');
      navigate(`/login?next=${encodeURIComponent(route.peek())}`);
    }
  });

  function again() {
    storeQueueToken(concertId, null);
    onLeft();
  }

  /** Leaves the line (or gives up the turn), so the place goes to the next fan. */
  async function leave() {
    try {
      await ok(api.DELETE('/api/v1/queue/tokens/me', { headers: queueHeaders(concertId) }));
    } catch (e) {
      // A place that is gone already is left all the same.
      if (!(e instanceof ApiProblem && e.status === 401)) {
        tell(inWords(e), 'warn');
        return;
      }
    }
    line.stop();
    tell('You left the line. Your place went to the next fan.');
    again();
  }

  if (problem && PLACE_GONE.has(problem.code)) {
    return (
      <div class="panel">
        <p role="alert">{inWords(problem)}</p>
        <button type="button" class="primary" onClick={again}>
          Join the line again
        </button>
      </div>
    );
  }
  switch (kind.value) {
    case null:
      return (
        <div class="panel line">
          <Loading what="your place in line" />
        </div>
      );
    case 'PRE_QUEUE':
      return <PreQueue status={line.status} onLeave={leave} />;
    case 'WAITING':
      return <Waiting concertId={concertId} status={line.status} transport={line.transport} onLeave={leave} />;
    case 'ACTIVE':
      return <Admitted concertId={concertId} status={line.status} autoAdvance={waitedHere.current} onLeave={leave} />;
    case 'EXPIRED':
      return (
        <div class="panel">
          <p role="alert">{inWords(new ApiProblem(401, 'QUEUE_TOKEN_EXPIRED', ''))}</p>
          <button type="button" class="primary" onClick={again}>
            Join the line again
          </button>
        </div>
      );
  }
}

function PreQueue({ status, onLeave }: { status: Signal<QueueStatus | null>; onLeave(): void }) {
  const opensAt = useComputed(() => status.value?.opensAt ?? null);
  const inSeconds = useComputed(() => clock(secondsUntil(opensAt.value, now.value)));
  return (
    <div class="panel line" aria-labelledby="line-heading">
      <h2 id="line-heading">You are in the line</h2>
      <p>
        The sale opens at {opensAt.value ? when(opensAt.value) : 'soon'}, in <strong class="figure">{inSeconds}</strong>.
      </p>
      <p class="muted">
        When it opens, everyone already here is given a place in a random order, so there is no need to rush. Keep this page open: it moves on by
        itself.
      </p>
      <button type="button" onClick={onLeave}>
        Leave the line
      </button>
    </div>
  );
}

function Waiting({ concertId, status, transport, onLeave }: { concertId: string; status: Signal<QueueStatus | null>; transport: Signal<'stream' | 'polling'>; onLeave(): void }) {
  const start = queueTokenFor(concertId)?.startPosition ?? null;
  const position = useComputed(() => status.value?.position ?? null);
  // The bar runs from the first position this fan was shown to the head of the line.
  const first = useComputed(() => Math.max(start ?? 0, position.value ?? 0, 1));
  const done = useComputed(() => (position.value === null ? 0 : first.value - position.value + 1));
  const positionText = useComputed(() => (position.value === null ? '…' : String(position.value)));
  const ahead = useComputed(() => {
    const p = position.value;
    return p === null ? '' : p === 1 ? 'You are next.' : `${p - 1} ${p - 1 === 1 ? 'fan is' : 'fans are'} ahead of you.`;
  });
  const eta = useComputed(() => waitInWords(status.value?.etaSeconds ?? null));
  const percent = useComputed(() => `${Math.round((done.value / first.value) * 100)}%`);
  return (
    <div class="panel line" aria-labelledby="line-heading">
      <h2 id="line-heading">You are in the line</h2>
      <p class="position">
        Your number in line: <strong class="figure">{positionText}</strong>
      </p>
      <p>{ahead}</p>
      <p>
        Estimated wait: <span class="figure">{eta}</span>
      </p>
      <progress max={first} value={done} aria-label="Progress through the line" aria-valuetext={percent} />
      <p class="muted">Keep this page open: it moves on by itself when it is your turn. {transport.value === 'polling' ? '(Checking every few seconds.)' : ''}</p>
      <button type="button" onClick={onLeave}>
        Leave the line
      </button>
    </div>
  );
}

/** Admitted: the time left and the dates with seats, each a link to its seat map. */
function Admitted({ concertId, status, autoAdvance, onLeave }: { concertId: string; status: Signal<QueueStatus | null>; autoAdvance: boolean; onLeave(): void }) {
  const schedules = useSignal<Schedule[] | null>(null);
  const error = useSignal<unknown>(null);
  const left = useComputed(() => clock(secondsUntil(status.value?.activeUntil, now.value)));
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    let gone = false;
    ok(api.GET('/api/v1/concerts/{concertId}/schedules', { params: { path: { concertId } }, headers: queueHeaders(concertId) })).then(
      (list) => {
        if (gone) return;
        schedules.value = list.schedules;
        // One date only: straight to its seat map.
        if (autoAdvance && list.schedules.length === 1) navigate(`/concerts/${concertId}/dates/${list.schedules[0].scheduleId}`, { replace: true });
      },
      (e) => (error.value = e),
    );
    return () => {
      gone = true;
    };
  }, [concertId]);
  return (
    <div class="panel" aria-labelledby="turn-heading">
      <h2 id="turn-heading" ref={heading} tabIndex={-1}>
        It is your turn! Pick a date
      </h2>
      <p>
        Time left to choose and pay: <strong class="figure">{left}</strong>
      </p>
      <ErrorText error={error.value} />
      {!schedules.value && !error.value && <Loading what="dates" />}
      {schedules.value?.length === 0 && <p>Every date is sold out or closed for booking.</p>}
      <ul class="dates">
        {schedules.value?.map((s) => (
          <li key={s.scheduleId}>
            <a class="button" href={href(`/concerts/${concertId}/dates/${s.scheduleId}`)}>
              {when(s.startsAt)} — {s.availableSeats} of {s.seatCount} seats left, {s.minPrice === s.maxPrice ? won(s.minPrice) : `${won(s.minPrice)} to ${won(s.maxPrice)}`}
            </a>
          </li>
        ))}
      </ul>
      <p>
        <button type="button" onClick={onLeave}>
          Give up my turn
        </button>
      </p>
    </div>
  );
}
