import { formatTable, latencySummary } from './report';

describe('benchmark report', () => {
  it('computes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(latencySummary(samples)).toEqual({ p50: 50, p99: 99, max: 100 });
    expect(latencySummary([7])).toEqual({ p50: 7, p99: 7, max: 7 });
  });

  it('marks a scenario whose checks fail', () => {
    const table = formatTable([
      {
        scenario: 's',
        target: 't',
        targetMet: false,
        operations: 1,
        durationSeconds: 1,
        throughputPerSecond: 1,
        latencyMs: { p50: 1, p99: 2, max: 3 },
        errors: 0,
        checks: [{ name: 'exactly once', pass: false, detail: '2 effects for 1 event' }],
      },
    ]);
    expect(table).toMatch(/0\/1 FAILED/);
    expect(table).toMatch(/FAIL s: exactly once/);
  });
});
