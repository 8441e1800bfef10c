import type { Logger } from '@ticketing/telemetry';
import type { AdmitResult } from './waiting-room.repository';

export interface AdmissionTickerOptions {
  waitingRoom: { admit(): Promise<AdmitResult> };
  /** ADMISSION_TICK_MS. */
  intervalMs?: number;
  logger: Pick<Logger, 'error'>;
  /** Called after each tick that changed something (metrics, notifying open event streams). */
  onAdmitted?: (result: AdmitResult) => void;
}

export interface AdmissionTicker {
  /** Stops ticking and waits for a tick in flight to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `admit()` now and then every `intervalMs`, one tick at a time (the next starts only after the
 * last one ended). Every gateway instance runs one: the admission script is atomic, so concurrent
 * ticks from many instances cannot over-admit or reorder the line. A failed tick is logged and the
 * ticker keeps going.
 */
export function startAdmissionTicker({ waitingRoom, intervalMs = 1_000, logger, onAdmitted }: AdmissionTickerOptions): AdmissionTicker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  const tick = async () => {
    const startedAt = Date.now();
    try {
      const result = await waitingRoom.admit();
      if (onAdmitted && (result.admitted > 0 || result.droppedWaiters > 0 || result.expiredActive > 0)) onAdmitted(result);
    } catch (err) {
      logger.error({ err }, 'admission tick failed');
    }
    // Keep the cadence: a slow tick shortens the pause after it rather than drifting.
    schedule(Math.max(0, intervalMs - (Date.now() - startedAt)));
  };

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = tick().finally(() => (inFlight = undefined));
    }, delayMs);
  }

  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
