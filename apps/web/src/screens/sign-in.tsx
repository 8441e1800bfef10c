import { useSignal } from '@preact/signals';
import { api, ok } from '../api/client';
import { href, navigate } from '../lib/router';
import { setSession, tell } from '../lib/store';
import { ErrorText, Title } from '../lib/ui';

/** Sign up (then logged in at once) or log in; `next` is where to go afterwards. */
export function SignInScreen({ mode, next }: { mode: 'login' | 'signup'; next?: string }) {
  const busy = useSignal(false);
  const error = useSignal<unknown>(null);
  const after = next && next.startsWith('/') ? next : '/';
  const other = mode === 'login' ? '/signup' : '/login';
  const query = next ? `?next=${encodeURIComponent(next)}` : '';

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const email = String(form.get('email') ?? '');
    const password = String(form.get('password') ?? '');
    busy.value = true;
    error.value = null;
    try {
      if (mode === 'signup') await ok(api.POST('/api/v1/users', { body: { email, password, name: String(form.get('name') ?? '') } }));
      const s = await ok(api.POST('/api/v1/sessions', { body: { email, password } }));
      setSession({ token: s.sessionToken, userId: s.userId, expiresAt: s.expiresAt, email: email.trim().toLowerCase() });
      tell(mode === 'signup' ? 'Welcome! Your account is ready and you are logged in.' : 'You are logged in.');
      navigate(after);
    } catch (e) {
      error.value = e;
    } finally {
      busy.value = false;
    }
  }

  return (
    <section class="narrow">
      <Title>{mode === 'login' ? 'Log in' : 'Create an account'}</Title>
      <form onSubmit={submit} aria-busy={busy.value}>
        {mode === 'signup' && (
          <label>
            Your name
            <input name="name" autocomplete="name" required maxLength={100} />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required maxLength={254} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete={mode === 'login' ? 'current-password' : 'new-password'} required minLength={mode === 'signup' ? 8 : 1} maxLength={128} />
          {mode === 'signup' && <span class="hint">At least 8 characters.</span>}
        </label>
        <ErrorText error={error.value} />
        <button type="submit" class="primary" disabled={busy.value}>
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
      </form>
      <p>
        {mode === 'login' ? 'New here? ' : 'Have an account? '}
        <a href={href(`${other}${query}`)}>{mode === 'login' ? 'Create an account' : 'Log in'}</a>
      </p>
    </section>
  );
}
