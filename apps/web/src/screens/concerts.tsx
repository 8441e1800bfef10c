import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, ok, type Concert } from '../api/client';
import { href } from '../lib/router';
import { ErrorText, Loading, Title } from '../lib/ui';

export function ConcertsScreen() {
  const concerts = useSignal<Concert[] | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    ok(api.GET('/api/v1/concerts', { params: { query: { limit: 100 } } })).then(
      (page) => (concerts.value = page.concerts),
      (e) => (error.value = e),
    );
  }, []);
  return (
    <section>
      <Title>Concerts</Title>
      <ErrorText error={error.value} />
      {!concerts.value && !error.value && <Loading what="concerts" />}
      {concerts.value?.length === 0 && <p>No concerts are on sale right now.</p>}
      <ul class="cards">
        {concerts.value?.map((c) => (
          <li key={c.concertId} class="card">
            <h2>
              <a href={href(`/concerts/${c.concertId}`)}>{c.title}</a>
            </h2>
            <p>
              {c.artist} · {c.venue}
            </p>
            {c.description && <p class="muted">{c.description}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}
