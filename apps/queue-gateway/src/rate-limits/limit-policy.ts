/** `Retry-After` in whole seconds, rounded up and at least 1, from the milliseconds a limit still holds. */
export function retryAfterSeconds(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1_000));
}

/**
 * The length of the `block`-th block (1 = the first) of an email and address after their free log-in
 * failures: `firstSeconds`, doubling with each further block, never above `maxSeconds`, so an account
 * is slowed down, never locked for good.
 */
export function loginBlockSeconds(block: number, firstSeconds: number, maxSeconds: number): number {
  const doublings = Math.min(Math.max(block, 1) - 1, 30);
  return Math.min(maxSeconds, firstSeconds * 2 ** doublings);
}
