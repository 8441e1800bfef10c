import { signal } from '@preact/signals';

/**
 * Hash routes (#/concerts/…): a reload always asks the server for `/` alone, which the gateway
 * serves, and the hash brings the fan back to the same screen.
 */
export const route = signal(currentPath());

function currentPath(): string {
  const hash = location.hash.replace(/^#/, '');
  return hash.startsWith('/') ? hash : '/';
}

window.addEventListener('hashchange', () => {
  route.value = currentPath();
});

export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', `#${path}`);
  else history.pushState(null, '', `#${path}`);
  route.value = path;
}

export function href(path: string): string {
  return `#${path}`;
}

/** `match('/concerts/:concertId', '/concerts/abc')` → `{ concertId: 'abc' }`, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const [pathname, query = ''] = path.split('?');
  const want = pattern.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return params;
}
