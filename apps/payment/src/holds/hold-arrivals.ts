/**
 * Lets POST /payments wait for a hold that has not reached this service's projection yet: the
 * consumer that records `reservation.held` in this process says so once its transaction committed.
 * A hold recorded by another instance is not announced here; the waiting request's own re-reads
 * find it.
 */
export interface HoldArrivals {
  /** The hold is in the projection (its transaction committed). */
  arrived(reservationId: string): void;
  /** Resolves when the hold arrives or after `timeoutMs`; register before reading, so no arrival is missed. */
  expect(reservationId: string, timeoutMs: number): { arrival: Promise<void>; cancel(): void };
}

export function createHoldArrivals(): HoldArrivals {
  const waiting = new Map<string, Set<() => void>>();
  return {
    arrived: (reservationId) => waiting.get(reservationId)?.forEach((done) => done()),
    expect(reservationId, timeoutMs) {
      let done: () => void = () => undefined;
      const arrival = new Promise<void>((resolve) => {
        const set = waiting.get(reservationId) ?? new Set();
        waiting.set(reservationId, set);
        const timer = setTimeout(() => done(), timeoutMs);
        done = () => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0 && waiting.get(reservationId) === set) waiting.delete(reservationId);
          resolve();
        };
        set.add(done);
      });
      return { arrival, cancel: () => done() };
    },
  };
}
