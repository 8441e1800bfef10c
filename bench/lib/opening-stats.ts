import { createHash } from 'node:crypto';

/** The statistics of the sale-opening scenario: pure functions over what it recorded. */

/** Ranks 1..n of `values` (ties get the mean of their ranks). */
export function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = rank;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation of paired samples: the Pearson correlation of their ranks (NaN below 2 pairs or without spread). */
export function spearman(xs: number[], ys: number[]): number {
  if (xs.length !== ys.length) throw new Error(`spearman: ${xs.length} x values, ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) return NaN;
  const [rx, ry] = [ranks(xs), ranks(ys)];
  const mean = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [rx[i] - mean, ry[i] - mean];
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * The largest |ρ| a random order shows by chance with n pairs, at about four standard deviations
 * (ρ of independent samples has a standard deviation of 1/√(n−1)), never below the 0.1:
 * over 10,000 fans the bound is 0.1; over a few hundred it widens so that chance alone fails the
 * check less than once in ten thousand runs.
 */
export function fairnessBound(n: number): number {
  return n > 1 ? Math.max(0.1, 4 / Math.sqrt(n - 1)) : Infinity;
}

/** The value at percentile `p` (0–100) by nearest rank; NaN without values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** |predicted − actual| / actual of each ETA (seconds); samples with no actual wait are left out. */
export function etaErrors(samples: { predictedSeconds: number; actualSeconds: number }[]): number[] {
  return samples.filter((s) => s.actualSeconds > 0 && Number.isFinite(s.predictedSeconds)).map((s) => Math.abs(s.predictedSeconds - s.actualSeconds) / s.actualSeconds);
}

/** One entry of the room's draw record: the fan's 16-byte member, its pre-queue ticket (arrival) and the ticket it was drawn. */
export interface DrawnEntry {
  member: Buffer;
  preTicket: number;
  ticket: number;
}

/**
 * Recomputes the draw from its recorded seed: the drawn fans in ascending sha1(seed || member) must
 * hold the tickets firstTicket, firstTicket + 1, … in that order. Returns how many do not.
 */
export function auditDraw(entries: DrawnEntry[], seed: string, firstTicket: number): { mismatched: number } {
  const keyed = entries.map((e) => ({ e, key: createHash('sha1').update(Buffer.concat([Buffer.from(seed), e.member])).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { mismatched: keyed.filter(({ e }, i) => e.ticket !== firstTicket + i).length };
}

/** A `drawn` hash value, "<pre-ticket>:<ticket>". */
export function parseDrawnValue(value: string): { preTicket: number; ticket: number } {
  const [preTicket, ticket] = value.split(':').map(Number);
  return { preTicket, ticket };
}
