import { admissionRate, etaSeconds, fallbackAdmissionRate, pollAfterMs } from './eta';

/** What the admit script computes: a decaying sum updated once per tick. */
function decayedSum(ticks: { dtMs: number; admitted: number }[], windowMs: number) {
  let decayed = 0;
  let observedMs = 0;
  for (const { dtMs, admitted } of ticks) {
    decayed = decayed * Math.exp(-dtMs / windowMs) + (admitted * 1_000) / windowMs;
    observedMs += dtMs;
  }
  return { decayed, observedMs };
}

describe('admissionRate', () => {
  it('is unknown before anything was measured', () => {
    expect(admissionRate({ decayed: 0, observedMs: 0 }, 60_000)).toBeNull();
    expect(admissionRate({ decayed: NaN, observedMs: 5_000 }, 60_000)).toBeNull();
  });

  it('reads a steady stream correctly from the first seconds on (warm-up corrected)', () => {
    const window = 60_000;
    for (const seconds of [2, 10, 60, 600]) {
      const sample = decayedSum(Array.from({ length: seconds }, () => ({ dtMs: 1_000, admitted: 5 })), window);
      // A plain decaying sum would read 5 · (1 − e^(−t/60 s)) early on, e.g. 0.8 at 10 s.
      expect(admissionRate(sample, window)).toBeCloseTo(5, 0);
    }
  });

  it('follows a change of pace within a few windows', () => {
    const window = 10_000;
    const fast = Array.from({ length: 60 }, () => ({ dtMs: 1_000, admitted: 20 }));
    const slow = Array.from({ length: 60 }, () => ({ dtMs: 1_000, admitted: 2 }));
    expect(admissionRate(decayedSum([...fast, ...slow], window), window)).toBeCloseTo(2, 0);
  });

  it('is zero, not unknown, when people waited and nobody was admitted', () => {
    expect(admissionRate({ decayed: 0, observedMs: 30_000 }, 60_000)).toBe(0);
  });
});

describe('fallbackAdmissionRate', () => {
  it('assumes each slot turns over once per active period', () => {
    expect(fallbackAdmissionRate({ maxActive: 500, activeTtlMs: 300_000 })).toBeCloseTo(500 / 300);
  });
});

describe('etaSeconds', () => {
  it('divides the position by the rate, rounding up, at least one second', () => {
    expect(etaSeconds(1, 100)).toBe(1);
    expect(etaSeconds(100, 10)).toBe(10);
    expect(etaSeconds(101, 10)).toBe(11);
    expect(etaSeconds(1_000_000, 500 / 300)).toBe(600_000);
  });

  it('has no finite answer without a rate', () => {
    expect(etaSeconds(10, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('pollAfterMs', () => {
  const lease = { waitingLeaseMs: 60_000 };

  it('asks every second near the head', () => {
    expect(pollAfterMs(1, lease)).toBe(1_000);
    expect(pollAfterMs(9, lease)).toBe(1_000);
  });

  it('grows with the wait, up to 15 s far back', () => {
    expect(pollAfterMs(50, lease)).toBe(5_000);
    expect(pollAfterMs(100, lease)).toBe(10_000);
    expect(pollAfterMs(3_600, lease)).toBe(15_000);
    expect(pollAfterMs(Number.POSITIVE_INFINITY, lease)).toBe(15_000);
    const series = [1, 5, 20, 60, 120, 600].map((eta) => pollAfterMs(eta, lease));
    expect([...series].sort((a, b) => a - b)).toEqual(series);
  });

  it('stays well inside a short lease, so polling as told always keeps the place', () => {
    expect(pollAfterMs(3_600, { waitingLeaseMs: 30_000 })).toBe(10_000);
    expect(pollAfterMs(3_600, { waitingLeaseMs: 1_500 })).toBe(500);
    expect(pollAfterMs(1, { waitingLeaseMs: 1_500 })).toBe(500);
  });
});
