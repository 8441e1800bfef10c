import type { Logger } from '@ticketing/telemetry';

export interface PeriodicJob {
  start(): void;
  /** Stops the timer and waits for the round in flight. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` (the next round is timed from the end of the last, so rounds never
 * overlap) until stopped. A failed round is logged and the next one tries again: the background
 * work of the services (hold sweeps, saga retries, key purges) is written to be safe to repeat and
 * to run in several instances at once.
 */
export function createPeriodicJob({
  name,
  intervalMs,
  logger,
  run,
  runAtStart = false,
}: {
  name: string;
  intervalMs: number;
  logger: Logger;
  /** One round; `signal` is aborted by stop(), so a long round (a purge working through a backlog) can end early. */
  run: (signal: AbortSignal) => Promise<unknown>;
  /** Also run a round at once on start, rather than only after the first interval. */
  runAtStart?: boolean;
}): PeriodicJob {
  const log = logger.child({ component: name });
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  let running = false;
  let stopping = new AbortController();

  function round(): void {
    inFlight = run(stopping.signal)
      .catch((error: unknown) => log.error({ err: error }, `${name} failed; trying again on the next round`))
      .finally(schedule);
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(round, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = new AbortController();
      if (runAtStart) round();
      else schedule();
    },
    async stop() {
      running = false;
      stopping.abort();
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
