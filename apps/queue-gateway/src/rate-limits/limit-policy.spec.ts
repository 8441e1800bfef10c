import { loginBlockSeconds, retryAfterSeconds } from './limit-policy';

describe('Retry-After from the time a limit still holds', () => {
  it('rounds up to whole seconds and never says 0', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(999)).toBe(1);
    expect(retryAfterSeconds(1_000)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
    expect(retryAfterSeconds(59_500)).toBe(60);
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(-5)).toBe(1);
  });
});

describe('growing log-in blocks', () => {
  it('starts at the first length and doubles with each block', () => {
    expect([1, 2, 3, 4, 5].map((n) => loginBlockSeconds(n, 30, 900))).toEqual([30, 60, 120, 240, 480]);
  });

  it('never exceeds the maximum, however many blocks came before (no lock-out for good)', () => {
    expect(loginBlockSeconds(6, 30, 900)).toBe(900);
    expect(loginBlockSeconds(1_000, 30, 900)).toBe(900);
    expect(loginBlockSeconds(1, 30, 30)).toBe(30);
  });

  it('treats a count below 1 as the first block', () => {
    expect(loginBlockSeconds(0, 5, 100)).toBe(5);
  });
});
