import { useEffect, useRef } from 'preact/hooks';
import { match, navigate, route, href } from './lib/router';
import { notice, session, setSession, tell } from './lib/store';
import { ConcertsScreen } from './screens/concerts';
import { HoldScreen } from './screens/hold';
import { SaleScreen } from './screens/sale';
import { SeatsScreen } from './screens/seats';
import { SignInScreen } from './screens/sign-in';
import { TicketsScreen } from './screens/tickets';
import { WalletScreen } from './screens/wallet';

/** The screens, by hash route; each reads what it shows from the API, so a reload lands on the same step. */
function Screen({ path }: { path: string }) {
  let p: Record<string, string> | null;
  if ((p = match('/login', path))) return <SignInScreen mode="login" next={p.next} />;
  if ((p = match('/signup', path))) return <SignInScreen mode="signup" next={p.next} />;
  if ((p = match('/concerts/:concertId', path))) return <SaleScreen concertId={p.concertId} />;
  if ((p = match('/concerts/:concertId/dates/:scheduleId', path))) return <SeatsScreen concertId={p.concertId} scheduleId={p.scheduleId} />;
  if ((p = match('/concerts/:concertId/holds/:reservationId', path))) return <HoldScreen concertId={p.concertId} reservationId={p.reservationId} />;
  if ((p = match('/wallet', path))) return <WalletScreen returnTo={p.return} need={p.need ? Number(p.need) : undefined} />;
  if ((p = match('/tickets', path))) return <TicketsScreen />;
  if (match('/', path)) return <ConcertsScreen />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href={href('/')}>See all concerts</a>
      </p>
    </section>
  );
}

function Nav() {
  const here = route.value.split('?')[0];
  const link = (to: string, label: string, current = here === to) => (
    <a href={href(to)} aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="top">
      <a class="brand" href={href('/')}>
        Tickets
      </a>
      <nav aria-label="Main">
        {link('/', 'Concerts', here === '/' || here.startsWith('/concerts'))}
        {link('/tickets', 'My tickets')}
        {link('/wallet', 'Wallet')}
        {session.value ? (
          <button
            type="button"
            class="link"
            onClick={() => {
              setSession(null);
              tell('You are logged out.');
              navigate('/');
            }}
          >
            Log out
          </button>
        ) : (
          link('/login', 'Log in')
        )}
      </nav>
    </header>
  );
}

export function App() {
  const path = route.value;
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);
  const lastMove = useRef(0);
  // A new screen: move focus to its heading, so keyboard and screen-reader users start at the top.
  useEffect(() => {
    // A message set since the last move is for this screen; one shown on the previous screen is done with.
    if (notice.peek() && notice.peek()!.setAt < lastMove.current) notice.value = null;
    lastMove.current = Date.now();
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path.split('?')[0]]);
  const shown = notice.value;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <Nav />
      <main id="main" ref={main} tabIndex={-1}>
        <div role="status" aria-live="polite" class={shown ? `notice ${shown.tone}` : 'notice empty'}>
          {shown ? (
            <>
              <span>{shown.text}</span>
              <button type="button" class="link" aria-label="Dismiss message" onClick={() => (notice.value = null)}>
                ×
              </button>
            </>
          ) : null}
        </div>
        <Screen key={path.split('?')[0]} path={path} />
      </main>
    </>
  );
}
