import { signal } from '@preact/signals';

/** The time now, ticking once a second for every countdown on screen (one timer for the whole app). */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1_000);

export const secondsUntil = (iso: string | null | undefined, at = now.value) => (iso ? Math.max(0, Math.ceil((Date.parse(iso) - at) / 1_000)) : 0);
