import { computed, signal } from '@preact/signals';

/**
 * What the app keeps across reloads: the session (localStorage, so a new tab is signed in too) and
 * one queue token per concert. Everything else is read from the API again after a reload.
 */
export interface Session {
  token: string;
  userId: string;
  expiresAt: string;
  email: string;
}

const SESSION_KEY = 'tickets.session';
const QUEUE_KEY = (concertId: string) => `tickets.queue.${concertId}`;

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function stillValid(s: Session | null): Session | null {
  return s && Date.parse(s.expiresAt) > Date.now() ? s : null;
}

export const session = signal<Session | null>(stillValid(read<Session>(SESSION_KEY)));
export const signedIn = computed(() => session.value !== null);

export function setSession(next: Session | null): void {
  session.value = next;
  if (next) localStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else {
    localStorage.removeItem(SESSION_KEY);
    // Queue tokens are only honoured beside the session of the same user.
    for (const key of Object.keys(localStorage)) if (key.startsWith('tickets.queue.')) localStorage.removeItem(key);
  }
}

export interface StoredQueueToken {
  token: string;
  userId: string;
  /** The first position this token was shown (the start of the progress bar). */
  startPosition: number | null;
}

export function queueTokenFor(concertId: string): StoredQueueToken | null {
  const stored = read<StoredQueueToken>(QUEUE_KEY(concertId));
  return stored && stored.userId === session.value?.userId ? stored : null;
}

export function storeQueueToken(concertId: string, value: StoredQueueToken | null): void {
  if (value) localStorage.setItem(QUEUE_KEY(concertId), JSON.stringify(value));
  else localStorage.removeItem(QUEUE_KEY(concertId));
}

export function userHeaders(): Record<string, string> {
  return session.value ? { authorization: `Bearer ${session.value.token}` } : {};
}

export function queueHeaders(concertId: string): Record<string, string> {
  const queue = queueTokenFor(concertId);
  return { ...userHeaders(), ...(queue ? { 'x-queue-token': queue.token } : {}) };
}

/** A message for the next screen (why the fan was sent there), shown once. */
export const notice = signal<{ text: string; tone: 'info' | 'warn'; setAt: number } | null>(null);

export function tell(text: string, tone: 'info' | 'warn' = 'info'): void {
  notice.value = { text, tone, setAt: Date.now() };
}

/** Which concert a hold of mine belongs to (a reservation names its date only), for links back to it. */
export function rememberHold(reservationId: string, concertId: string): void {
  localStorage.setItem(`tickets.hold.${reservationId}`, concertId);
}

export function concertOfHold(reservationId: string): string | null {
  return localStorage.getItem(`tickets.hold.${reservationId}`);
}
