import { createHoldArrivals } from './hold-arrivals';

describe('hold arrivals', () => {
  it('wakes a request expecting the hold as soon as it arrives, not at its timeout', async () => {
    const arrivals = createHoldArrivals();
    const startedAt = Date.now();
    const { arrival } = arrivals.expect('r1', 5_000);
    let arrivedAt = 0;
    setTimeout(() => {
      arrivedAt = Date.now();
      arrivals.arrived('r1');
    }, 20);
    await arrival;
    expect(arrivedAt).toBeGreaterThan(0); // woken by the arrival, not before it
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('resolves at the timeout when the hold arrives elsewhere, and ignores other holds', async () => {
    const arrivals = createHoldArrivals();
    const startedAt = Date.now();
    const { arrival } = arrivals.expect('r1', 100);
    arrivals.arrived('r2');
    await arrival;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(Date.now() - startedAt).toBeLessThan(100 + 1_000);
  });

  it('forgets a cancelled expectation', async () => {
    const arrivals = createHoldArrivals();
    const { arrival, cancel } = arrivals.expect('r1', 5_000);
    cancel();
    await arrival;
    expect(() => arrivals.arrived('r1')).not.toThrow();
  });
});
