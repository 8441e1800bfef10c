import { createLogger } from '@ticketing/telemetry';
import { createPeriodicJob } from './periodic-job';

const logger = createLogger('periodic-job-test', 'silent');

describe('createPeriodicJob', () => {
  it('runs rounds one after another, never overlapping, and keeps going after a failed round', async () => {
    let running = 0;
    let overlapped = false;
    let rounds = 0;
    const job = createPeriodicJob({
      name: 'test',
      intervalMs: 5,
      logger,
      runAtStart: true,
      run: async () => {
        rounds += 1;
        overlapped ||= running > 0;
        running += 1;
        await new Promise((r) => setTimeout(r, 10));
        running -= 1;
        if (rounds === 2) throw new Error('a failed round');
      },
    });
    job.start();
    await new Promise((r) => setTimeout(r, 150));
    await job.stop();
    expect(rounds).toBeGreaterThan(3);
    expect(overlapped).toBe(false);
  });

  it('tells the round in flight that the job is stopping, and stop() waits for it to end', async () => {
    let seen: AbortSignal | undefined;
    let ended = false;
    const job = createPeriodicJob({
      name: 'test',
      intervalMs: 60_000,
      logger,
      runAtStart: true,
      run: async (signal) => {
        seen = signal;
        // A long round (a purge working through a backlog) that checks the signal between steps.
        for (let step = 0; step < 1_000 && !signal.aborted; step++) await new Promise((r) => setTimeout(r, 10));
        ended = true;
      },
    });
    job.start();
    await new Promise((r) => setTimeout(r, 30));
    const startedStopping = Date.now();
    await job.stop();
    expect(ended).toBe(true);
    expect(seen?.aborted).toBe(true);
    expect(Date.now() - startedStopping).toBeLessThan(1_000); // not the 10 s the round would take
  });
});
