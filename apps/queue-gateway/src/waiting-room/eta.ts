/** What the admission script keeps: a decaying sum of admissions and how long it has been measuring. */
export interface AdmissionRateSample {
  /** Σ admitted · e^(−age/window) / window, in users per second (not yet corrected for warm-up). */
  decayed: number;
  /** Milliseconds measured so far (only time when people were left waiting counts). */
  observedMs: number;
}

/** Below this much measured time a rate is too noisy to use; one admission tick's worth. */
const MIN_OBSERVED_MS = 1_000;

/**
 * The measured admission rate in users per second, or null before anything was measured.
 * A decaying sum that started from zero under-reads by (1 − e^(−observed/window)); dividing by that
 * gives the true rate of a steady stream from the first tick on (the same correction as Adam's).
 */
export function admissionRate(sample: AdmissionRateSample, windowMs: number): number | null {
  if (!(sample.observedMs > 0) || !Number.isFinite(sample.decayed)) return null;
  const warmUp = 1 - Math.exp(-Math.max(sample.observedMs, MIN_OBSERVED_MS) / windowMs);
  return Math.max(0, sample.decayed) / warmUp;
}

/**
 * A guess before any admission was measured: every slot turns over once per active period at worst
 * (users who pay or leave early make it faster), so this errs towards a longer wait.
 */
export function fallbackAdmissionRate({ maxActive, activeTtlMs }: { maxActive: number; activeTtlMs: number }): number {
  return maxActive / (activeTtlMs / 1_000);
}

/**
 * The admission rate an ETA is computed with: the measured one once there is one, never above the
 * sale's configured admitPerMinute (admission cannot go faster than that); before anything was
 * measured, the configured rate (in passthrough, where no rate is set, every slot turning over once
 * per active period, which errs towards a longer wait).
 */
export function expectedAdmissionRate({
  measured,
  sale,
}: {
  measured: number | null;
  sale: { admitPerMinute: number; maxActive: number; activeMs: number; mode: 'queue' | 'passthrough' } | null;
}): number {
  const configured = sale && sale.mode === 'queue' ? sale.admitPerMinute / 60 : Number.POSITIVE_INFINITY;
  if (measured !== null && measured > 0) return Math.min(measured, configured);
  if (Number.isFinite(configured)) return configured;
  return sale ? fallbackAdmissionRate({ maxActive: Math.max(1, sale.maxActive), activeTtlMs: sale.activeMs }) : 1;
}

/** Seconds until a waiter at `position` (1 = next) is admitted, at `ratePerSecond`; at least one tick. */
export function etaSeconds(position: number, ratePerSecond: number): number {
  if (!(ratePerSecond > 0)) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.ceil(position / ratePerSecond));
}

export interface PollPacing {
  /** The waiting lease: a client must be told to come back well inside it, or it loses its place. */
  waitingLeaseMs: number;
  minMs?: number;
  maxMs?: number;
}

/**
 * When a waiting client should poll again: about ten polls over the expected wait, 1 s near the head
 * growing to 15 s far back, and never more than a third of the waiting lease (two polls may be lost
 * before the place is).
 */
export function pollAfterMs(etaSecondsValue: number, { waitingLeaseMs, minMs = 1_000, maxMs = 15_000 }: PollPacing): number {
  const ceiling = Math.max(1, Math.min(maxMs, Math.floor(waitingLeaseMs / 3)));
  const floor = Math.min(minMs, ceiling);
  const wanted = Number.isFinite(etaSecondsValue) ? Math.round((etaSecondsValue * 1_000) / 10) : ceiling;
  return Math.min(ceiling, Math.max(floor, wanted));
}
